"""/api/v1/users: administrators create accounts, change roles and services; each change traced."""

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from backend.models import AuditEvent, Service
from tests.fixtures.users import Agent, make_agent


def test_an_administrator_creates_an_agent_then_moves_them_to_another_service(
    session: Session, client: TestClient, admin: Agent
) -> None:
    accueil, sejour = _service(session, "accueil"), _service(session, "sejour")

    created = client.post(
        "/api/v1/users",
        json={
            "email": "Ines.Martin@gers.gouv.fr",
            "first_name": "Inès",
            "last_name": "Martin",
            "service_ids": [accueil.id],
        },
        headers=admin.headers,
    )
    user_id = created.json()["id"]
    moved = client.patch(
        f"/api/v1/users/{user_id}",
        json={"role": "service_head", "service_ids": [sejour.id]},
        headers=admin.headers,
    )
    listed = client.get("/api/v1/users", headers=admin.headers).json()

    assert created.status_code == 201
    assert created.json()["email"] == "ines.martin@gers.gouv.fr"
    assert (moved.json()["role"], moved.json()["service_ids"]) == ("service_head", [sejour.id])
    assert "password_hash" not in str(listed)
    events = session.exec(
        select(AuditEvent).where(col(AuditEvent.object_type) == "user").order_by(col(AuditEvent.id))
    ).all()
    assert [event.action for event in events] == ["user.created", "user.updated"]
    assert events[1].changes == {
        "role": ["agent", "service_head"],
        "service_ids": [[accueil.id], [sejour.id]],
    }


def test_mistakes_get_a_message_and_agents_get_nothing(
    session: Session, client: TestClient, admin: Agent
) -> None:
    agent = make_agent(session)
    new = {"email": agent.user.email, "first_name": "A", "last_name": "B"}

    duplicate = client.post("/api/v1/users", json=new, headers=admin.headers)
    unknown_service = client.patch(
        f"/api/v1/users/{agent.user.id}", json={"service_ids": [999_999]}, headers=admin.headers
    )
    missing = client.patch("/api/v1/users/999999", json={}, headers=admin.headers)
    by_agent = client.get("/api/v1/users", headers=agent.headers)

    assert duplicate.status_code == 422
    assert "existe déjà" in duplicate.json()["detail"]
    assert unknown_service.status_code == 422
    assert "Aucun service n° 999999" in unknown_service.json()["detail"]
    assert missing.status_code == 404
    assert by_agent.status_code == 403


def _service(session: Session, slug: str) -> Service:
    service = Service(slug=slug, name=slug.title())
    session.add(service)
    session.flush()
    return service
