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


def test_a_pattern_mismatch_shows_the_expected_format(admin_client: TestClient) -> None:
    response = admin_client.post(
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


def test_values_of_the_wrong_kind_are_explained_in_french_too(admin_client: TestClient) -> None:
    """Error kinds that fuzzing the API sent back in English (tests/test_api_fuzzing.py)."""
    paper = admin_client.post(
        "/api/v1/cases/paper",
        json={
            "channel": "email",
            "received_on": "2026-01-01T10:30:00",
            "sender_name": "Jean Martin",
            "subject": "Objet",
            "kind": "autre",
        },
    )
    value = admin_client.put("/api/v1/indicators/manual/1/values/2026-05", json={"value": "9,5"})
    slots = admin_client.post(
        "/api/v1/appointment-slots",
        json={"service_id": 1.5, "place": "Auch", "starts_at": [True]},
    )

    messages = {
        tuple(error["loc"]): error["msg"]
        for response in (paper, value, slots)
        for error in response.json()["detail"]
    }
    assert messages == {
        ("body", "channel"): "Valeur attendue : 'paper' ou 'suggestion_box'.",
        ("body", "received_on"): "Date attendue, sans heure : AAAA-MM-JJ.",
        ("body", "kind"): (
            "Valeur attendue : 'information_request', 'complaint', 'suggestion', 'residence' "
            "ou 'other'."
        ),
        ("body", "value"): "Nombre décimal attendu.",
        ("body", "service_id"): "Nombre entier attendu, sans partie décimale.",
        ("body", "starts_at", 0): "Date et heure attendues, au format ISO 8601.",
    }
