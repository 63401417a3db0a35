"""Bad requests are answered in French, field by field."""

from fastapi.testclient import TestClient


def test_each_invalid_field_is_named_with_a_french_message(agent_client: TestClient) -> None:
    response = agent_client.post(
        "/api/v1/cases/paper",
        json={"received_on": "25/11/2026", "subject": "", "sender_email": "pas-une-adresse"},
    )

    assert response.status_code == 422
    messages = {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}
    assert messages[("body", "received_on")] == "Date attendue, au format AAAA-MM-JJ."
    assert messages[("body", "sender_name")] == "Champ obligatoire."
    assert messages[("body", "subject")] == "Texte trop court : au moins 1 caractère(s)."
    assert messages[("body", "sender_email")].startswith("Adresse électronique invalide")


def test_a_pattern_mismatch_shows_the_expected_format(client: TestClient) -> None:
    response = client.post(
        "/api/v1/mailboxes",
        json={
            "slug": "contact",
            "address": "prefecture@gers.gouv.fr",
            "imap_host": "imap.example.org",
            "imap_username": "contact",
            "password_env": "a b",
            "start_date": "2026-01-01",
        },
    )

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "password_env"]
    assert error["msg"].startswith("Format invalide (attendu : ")
