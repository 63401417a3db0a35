"""/api/v1/mailboxes: an administrator declares, changes and checks mailboxes."""

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from backend.models import AuditEvent
from tests.fixtures.users import Agent, make_agent


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


def test_a_mailbox_is_created_read_and_changed(admin_client: TestClient) -> None:
    slug = f"sejour-{uuid.uuid4().hex[:6]}"

    created = admin_client.post("/api/v1/mailboxes", json=_mailbox(slug))
    changed = admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"enabled": False})
    listed = admin_client.get("/api/v1/mailboxes")

    assert created.status_code == 201
    assert created.json()["last_error"] is None
    assert changed.json()["enabled"] is False
    assert slug in [mailbox["slug"] for mailbox in listed.json()]


def test_bad_requests_get_a_4xx_with_a_message(admin_client: TestClient) -> None:
    slug = f"sejour-{uuid.uuid4().hex[:6]}"
    admin_client.post("/api/v1/mailboxes", json=_mailbox(slug))

    duplicate = admin_client.post("/api/v1/mailboxes", json=_mailbox(slug))
    bad_env = admin_client.post(
        "/api/v1/mailboxes", json={**_mailbox("autre"), "password_env": "a b"}
    )
    missing = admin_client.get("/api/v1/mailboxes/inconnue")

    assert duplicate.status_code == 409
    assert "existe déjà" in duplicate.json()["detail"]
    assert bad_env.status_code == 422
    assert missing.status_code == 404


def test_a_connection_test_explains_the_failure(admin_client: TestClient) -> None:
    slug = f"sejour-{uuid.uuid4().hex[:6]}"
    admin_client.post("/api/v1/mailboxes", json=_mailbox(slug))

    diagnosis = admin_client.post(f"/api/v1/mailboxes/{slug}/test").json()

    assert diagnosis["ok"] is False
    assert "SEJOUR_IMAP_PASSWORD" in diagnosis["message"]


def test_only_an_administrator_changes_mailboxes_and_each_change_is_traced(
    session: Session, admin_client: TestClient, admin: Agent
) -> None:
    slug = "sejour"
    agent = make_agent(session)
    admin_client.post("/api/v1/mailboxes", json=_mailbox(slug))

    refused = admin_client.patch(
        f"/api/v1/mailboxes/{slug}", json={"enabled": False}, headers=agent.headers
    )
    admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"enabled": False, "folder": "Archives"})

    assert refused.status_code == 403
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.object_type) == "mailbox")
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(event.action, event.actor_user_id) for event in events] == [
        ("mailbox.created", admin.user.id),
        ("mailbox.updated", admin.user.id),
    ]
    assert events[1].changes == {"enabled": [True, False], "folder": ["INBOX", "Archives"]}


def test_a_field_the_database_cannot_take_gets_a_422_not_a_500(admin_client: TestClient) -> None:
    """Cases found by fuzzing the API (tests/test_api_fuzzing.py), each once a 500."""
    slug = f"sejour-{uuid.uuid4().hex[:6]}"
    admin_client.post("/api/v1/mailboxes", json=_mailbox(slug))

    unknown_service = admin_client.post(
        "/api/v1/mailboxes", json={**_mailbox("autre"), "service_id": 999_999}
    )
    moved_to_unknown = admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"service_id": 999})
    too_large = admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"service_id": 2**63})
    null_kind = admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"kind": None})
    nul_char = admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"folder": "IN\u0000BOX"})
    year_one = admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"start_date": "0001-01-01"})

    assert unknown_service.status_code == 422
    assert unknown_service.json()["detail"] == "Aucun service n° 999999."
    assert moved_to_unknown.status_code == 422
    assert moved_to_unknown.json()["detail"] == "Aucun service n° 999."
    for refused, message in [
        (too_large, "Doit être inférieur ou égal à 2147483647."),
        (null_kind, "Valeur null refusée : omettez le champ pour le laisser inchangé."),
        (nul_char, "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."),
        (year_one, "Doit être supérieur ou égal à 1900-01-01."),
    ]:
        assert refused.status_code == 422
        assert [error["msg"] for error in refused.json()["detail"]] == [message]
    emptied = admin_client.patch(f"/api/v1/mailboxes/{slug}", json={"move_to_folder": None})
    assert emptied.status_code == 200


def test_a_slug_no_mailbox_can_have_is_simply_not_found(admin_client: TestClient) -> None:
    """A NUL in the path was a 500 on PostgreSQL (found while fuzzing the API)."""
    missing = admin_client.get("/api/v1/mailboxes/con%00tact")

    assert missing.status_code == 404
    assert missing.json()["detail"] == "Aucune boîte aux lettres « con\u0000tact »."
