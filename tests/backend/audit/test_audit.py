"""The audit trail: views, changes and exports traced; searchable and exported by admins only."""

import csv
import io

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.fixtures.users import Agent, make_agent

PAPER_LETTER = {"channel": "paper", "subject": "Demande de rendez-vous", "sender_name": "M. Durand"}


def test_a_view_a_change_and_an_export_are_found_by_an_administrator(
    session: Session, client: TestClient, admin: Agent
) -> None:
    agent = make_agent(session)
    registered = client.post("/api/v1/cases/paper", json=PAPER_LETTER, headers=agent.headers)
    case_id = registered.json()["id"]
    client.get(f"/api/v1/cases/{case_id}", headers=agent.headers)
    client.get("/api/v1/indicators/table?format=csv", headers=agent.headers)

    by_agent = client.get(f"/api/v1/audit?actor={agent.user.email}", headers=admin.headers)
    on_case = client.get(f"/api/v1/audit?case_id={case_id}", headers=admin.headers)
    exports = client.get("/api/v1/audit?action=indicators.", headers=admin.headers)

    assert [event["action"] for event in by_agent.json()["items"]] == [
        "indicators.exported",
        "case.viewed",
        "case.registered",
    ]
    assert [event["action"] for event in on_case.json()["items"]] == [
        "case.viewed",
        "case.registered",
    ]
    assert exports.json()["items"][0]["details"]["file"].startswith("tableau-qualite_")


def test_the_trail_pages_newest_first(session: Session, client: TestClient, admin: Agent) -> None:
    agent = make_agent(session)
    for _ in range(3):
        client.post("/api/v1/cases/paper", json=PAPER_LETTER, headers=agent.headers)

    first = client.get("/api/v1/audit?action=case.&limit=2", headers=admin.headers).json()
    second = client.get(
        f"/api/v1/audit?action=case.&limit=2&before_id={first['next_before_id']}",
        headers=admin.headers,
    ).json()

    ids = [event["id"] for event in first["items"] + second["items"]]
    assert len(ids) == 3
    assert ids == sorted(ids, reverse=True)
    assert second["next_before_id"] is None


def test_the_csv_export_lists_the_events_and_is_itself_traced(
    session: Session, client: TestClient, admin: Agent
) -> None:
    agent = make_agent(session)
    client.post("/api/v1/cases/paper", json=PAPER_LETTER, headers=agent.headers)

    exported = client.get("/api/v1/audit?format=csv&action=case.", headers=admin.headers)
    after = client.get("/api/v1/audit?action=audit.", headers=admin.headers).json()

    assert exported.headers["content-disposition"] == 'attachment; filename="journal-qualipref.csv"'
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["id", "date", "acteur", "action"]
    assert [(row[2], row[3]) for row in rows[1:]] == [(agent.user.email, "case.registered")]
    assert after["items"][0]["action"] == "audit.exported"
    assert after["items"][0]["actor_user_id"] == admin.user.id


def test_only_administrators_read_the_trail(session: Session, client: TestClient) -> None:
    agent = make_agent(session)

    assert client.get("/api/v1/audit", headers=agent.headers).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_the_database_refuses_to_change_an_event(session: Session, client: TestClient) -> None:
    agent = make_agent(session)
    client.post("/api/v1/cases/paper", json=PAPER_LETTER, headers=agent.headers)
    session.flush()

    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.text("UPDATE audit_events SET action = 'case.forged'"))
