"""Listing cases: filters, the most urgent first, a page at a time without OFFSET."""

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from backend.models import Case, CaseChannel, CaseKind, CaseStatus, Message


def add_case(
    session: Session,
    number: int,
    *,
    due: date,
    status: CaseStatus = CaseStatus.NEW,
    kind: CaseKind = CaseKind.INFORMATION_REQUEST,
    subject: str = "Demande",
    received_at: datetime | None = None,
) -> Case:
    received_at = received_at or datetime(2026, 11, 2, 9, tzinfo=UTC) + timedelta(hours=number)
    case = Case(
        reference=f"LIST-2026-{number:06d}",
        subject=subject,
        kind=kind,
        status=status,
        channel=CaseChannel.EMAIL,
        received_at=received_at,
        received_on=received_at.date(),
        due_date=due,
        sender_email=f"citoyen{number}@example.org",
    )
    session.add(case)
    session.flush()
    return case


def all_pages(client: TestClient, **params: object) -> list[list[str]]:
    """The references of every page, following the cursors."""
    pages = []
    cursor = None
    while True:
        response = client.get(
            "/api/v1/cases", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["reference"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_pages_follow_the_due_date_then_the_order_of_arrival(
    agent_client: TestClient, session: Session
) -> None:
    start = date(2026, 11, 20)
    for number in range(7):
        add_case(session, number, due=start + timedelta(days=number % 3))

    pages = all_pages(agent_client, limit=3, q="citoyen")

    expected = [f"LIST-2026-{n:06d}" for n in (0, 3, 6, 1, 4, 2, 5)]
    assert pages == [expected[0:3], expected[3:6], expected[6:7]]


def test_newest_first_when_sorted_by_reception(agent_client: TestClient, session: Session) -> None:
    for number in range(5):
        add_case(session, number, due=date(2026, 11, 20))

    pages = all_pages(agent_client, limit=2, sort="received_at", q="citoyen")

    assert [ref for page in pages for ref in page] == [
        f"LIST-2026-{n:06d}" for n in (4, 3, 2, 1, 0)
    ]


def test_filters_and_counts_per_status(agent_client: TestClient, session: Session) -> None:
    long_ago = date(2020, 1, 6)
    add_case(session, 1, due=long_ago, status=CaseStatus.NEW, kind=CaseKind.COMPLAINT)
    add_case(session, 2, due=long_ago, status=CaseStatus.ANSWERED, kind=CaseKind.COMPLAINT)
    add_case(
        session, 3, due=date(2099, 1, 1), status=CaseStatus.IN_PROGRESS, kind=CaseKind.COMPLAINT
    )
    add_case(session, 4, due=long_ago, status=CaseStatus.NEW, kind=CaseKind.SUGGESTION)

    complaints = agent_client.get("/api/v1/cases", params={"kind": "complaint"}).json()
    overdue = agent_client.get(
        "/api/v1/cases", params={"kind": "complaint", "overdue": True}
    ).json()

    assert [item["reference"] for item in complaints["items"]] == [
        "LIST-2026-000001",
        "LIST-2026-000002",
        "LIST-2026-000003",
    ]
    assert complaints["counts"]["new"] == 1
    assert complaints["counts"]["answered"] == 1
    assert complaints["counts"]["in_progress"] == 1
    assert [item["reference"] for item in overdue["items"]] == ["LIST-2026-000001"]
    assert overdue["items"][0]["days_left"] < 0


def test_text_search_looks_in_subjects_senders_and_message_bodies(
    agent_client: TestClient, session: Session
) -> None:
    by_subject = add_case(session, 1, due=date(2026, 12, 1), subject="Titre de séjour 100% perdu")
    by_body = add_case(session, 2, due=date(2026, 12, 2), subject="Question")
    add_case(session, 3, due=date(2026, 12, 3), subject="Autre")
    assert by_body.id is not None
    session.add(
        Message(
            case_id=by_body.id,
            rfc_message_id="corps@example.org",
            fingerprint="0" * 64,
            subject="Question",
            body_text="Mon récépissé de TITRE DE SÉJOUR expire demain.",
            received_at=datetime(2026, 11, 2, tzinfo=UTC),
        )
    )
    session.flush()

    found = agent_client.get("/api/v1/cases", params={"q": "titre de séjour"}).json()
    percent = agent_client.get("/api/v1/cases", params={"q": "100%"}).json()
    sender = agent_client.get("/api/v1/cases", params={"q": "citoyen3@"}).json()

    assert [item["id"] for item in found["items"]] == [by_subject.id, by_body.id]
    assert [item["id"] for item in percent["items"]] == [by_subject.id]
    assert [item["reference"] for item in sender["items"]] == ["LIST-2026-000003"]


def test_a_forged_cursor_is_a_400(agent_client: TestClient) -> None:
    response = agent_client.get("/api/v1/cases", params={"cursor": "pas-un-curseur"})
    assert response.status_code == 400
    assert "Curseur de pagination invalide" in response.json()["detail"]


def test_full_text_search_stems_on_postgresql_and_finds_bodies_and_addresses(
    agent_client: TestClient, session: Session
) -> None:
    complaint = add_case(session, 1, due=date(2026, 12, 1), subject="Réclamation sur l'accueil")
    by_body = add_case(session, 2, due=date(2026, 12, 2), subject="Question")
    assert by_body.id is not None
    session.add(
        Message(
            case_id=by_body.id,
            rfc_message_id="corps-fts@example.org",
            fingerprint="1" * 64,
            subject="Question",
            body_text="Mon passeport biométrique est perdu.",
            received_at=datetime(2026, 11, 2, tzinfo=UTC),
        )
    )
    session.flush()

    def found(q: str) -> list[str]:
        body = agent_client.get("/api/v1/cases", params={"q": q}).json()
        return [item["reference"] for item in body["items"]]

    stemmed = found("réclamations")
    postgresql = session.get_bind().dialect.name == "postgresql"
    # French stems on PostgreSQL; SQLite's substring search does not stem.
    assert stemmed == ([complaint.reference] if postgresql else [])
    assert found("biométrique") == [by_body.reference]
    assert found("citoyen2@example.org") == [by_body.reference]
    assert found("citoyen1") == [complaint.reference]
    assert found("introuvable") == []
