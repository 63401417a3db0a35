"""/api/v1/mailboxes: an administrator declares, changes and checks mailboxes."""

import uuid

from fastapi.testclient import TestClient


def _mailbox(slug: str) -> dict[str, object]:
    return {
        "slug": slug,
        "kind": "sejour",
        "address": "pref-sejour-etrangers@gers.gouv.fr",
        "imap_host": "imap.example.org",
        "imap_port": 993,
        "imap_tls": "ssl",
        "imap_username": "sejour",
        "password_env": "SEJOUR_IMAP_PASSWORD",
        "start_date": "2026-01-01",
    }


def test_a_mailbox_is_created_read_and_changed(client: TestClient) -> None:
    slug = f"sejour-{uuid.uuid4().hex[:6]}"

    created = client.post("/api/v1/mailboxes", json=_mailbox(slug))
    changed = client.patch(f"/api/v1/mailboxes/{slug}", json={"enabled": False})
    listed = client.get("/api/v1/mailboxes")

    assert created.status_code == 201
    assert created.json()["last_error"] is None
    assert changed.json()["enabled"] is False
    assert slug in [mailbox["slug"] for mailbox in listed.json()]


def test_bad_requests_get_a_4xx_with_a_message(client: TestClient) -> None:
    slug = f"sejour-{uuid.uuid4().hex[:6]}"
    client.post("/api/v1/mailboxes", json=_mailbox(slug))

    duplicate = client.post("/api/v1/mailboxes", json=_mailbox(slug))
    bad_env = client.post("/api/v1/mailboxes", json={**_mailbox("autre"), "password_env": "a b"})
    missing = client.get("/api/v1/mailboxes/inconnue")

    assert duplicate.status_code == 409
    assert "existe déjà" in duplicate.json()["detail"]
    assert bad_env.status_code == 422
    assert missing.status_code == 404


def test_a_connection_test_explains_the_failure(client: TestClient) -> None:
    slug = f"sejour-{uuid.uuid4().hex[:6]}"
    client.post("/api/v1/mailboxes", json=_mailbox(slug))

    diagnosis = client.post(f"/api/v1/mailboxes/{slug}/test").json()

    assert diagnosis["ok"] is False
    assert "SEJOUR_IMAP_PASSWORD" in diagnosis["message"]
