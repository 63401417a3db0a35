"""/api/v1/cases: an agent works a case through its whole lifecycle, each step stamped."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from backend.calendar.working_days import WorkingCalendar
from backend.config import Settings
from backend.models import Attachment, Message, Service, UserRole
from backend.storage.filestore import FileStore
from tests.fixtures.users import Agent, join_service, make_agent


def today(settings: Settings) -> date:
    return datetime.now(settings.tzinfo).date()


class Walker:
    """Calls the API as an agent, each change on the version last read."""

    def __init__(self, client: TestClient, case: dict[str, Any]) -> None:
        self.client = client
        self.case = case

    def do(self, operation: str, body: dict[str, Any] | None = None) -> Response:
        response: Response = self.client.post(
            f"/api/v1/cases/{self.case['id']}/{operation}",
            json=body,
            headers={"If-Match": f'"{self.case["version"]}"'},
        )
        if response.status_code == 200:
            assert response.headers["ETag"] == f'"{response.json()["version"]}"'
            self.case = response.json()
        return response

    def step(self, operation: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        version = self.case["version"]
        response = self.do(operation, body)
        assert response.status_code == 200, response.text
        assert self.case["version"] == version + 1
        return self.case

    def events(self) -> list[dict[str, Any]]:
        detail = self.client.get(f"/api/v1/cases/{self.case['id']}")
        assert detail.status_code == 200
        return list(detail.json()["events"])


def register_letter(client: TestClient, *, received_on: date, **fields: Any) -> Response:
    response: Response = client.post(
        "/api/v1/cases/paper",
        json={
            "received_on": received_on.isoformat(),
            "sender_name": "Jean Martin",
            "sender_postal_address": "12 rue Gambetta\n32000 Auch",
            "subject": "Demande de carte de séjour",
            **fields,
        },
    )
    return response


def test_a_paper_letter_is_worked_from_registration_to_reopening(
    agent_client: TestClient,
    agent: Agent,
    session: Session,
    service_row: Service,
    settings: Settings,
) -> None:
    join_service(session, user=agent.user, service=service_row)
    received_on = today(settings) - timedelta(days=3)
    calendar = WorkingCalendar.from_settings(settings)

    registered = register_letter(agent_client, received_on=received_on)
    assert registered.status_code == 201, registered.text
    case = registered.json()
    assert case["reference"].startswith(f"GERS-{received_on.year}-")
    assert (case["channel"], case["status"], case["version"]) == ("paper", "new", 1)
    assert case["due_date"] == calendar.due_date(received=received_on, target_days=10).isoformat()
    walker = Walker(agent_client, case)

    classified = walker.step("classify", {"kind": "complaint"})
    assert classified["kind"] == "complaint"
    assert classified["due_date"] == (
        calendar.due_date(received=received_on, target_days=5).isoformat()
    )
    assigned = walker.step("assign", {"service_id": service_row.id, "assignee_id": agent.user.id})
    assert (assigned["status"], assigned["assignee_id"]) == ("assigned", agent.user.id)
    assert walker.step("status", {"status": "in_progress"})["status"] == "in_progress"
    waiting = walker.step("documents-requested", {"documents": ["justificatif de domicile"]})
    assert waiting["status"] == "waiting_citizen"
    assert walker.step("documents-received")["status"] == "in_progress"
    holding = walker.step("holding-reply", {"announced_delay_days": 15})
    assert holding["holding_reply_at"] is not None
    assert holding["holding_reply_delay_days"] == 15
    answered = walker.step(
        "answered-elsewhere", {"channel": "phone", "answered_on": today(settings).isoformat()}
    )
    assert (answered["status"], answered["answer_channel"]) == ("answered", "phone")
    assert answered["answered_at"] is not None
    assert answered["days_left"] is None
    closed = walker.step("close")
    assert (closed["status"], closed["closed_at"] is not None) == ("closed", True)
    reopened = walker.step("reopen")
    assert (reopened["status"], reopened["closed_at"]) == ("in_progress", None)
    assert reopened["answered_at"] == answered["answered_at"]  # the first answer stays
    walker.step("notes", {"text": "Rappeler M. Martin jeudi."})

    events = walker.events()
    assert [event["action"] for event in events] == [
        "case.registered",
        "case.classified",
        "case.assigned",
        "case.status_changed",
        "case.documents_requested",
        "case.documents_received",
        "case.holding_reply",
        "case.answered",
        "case.closed",
        "case.reopened",
        "case.note",
    ]
    assert all(event["actor_user_id"] == agent.user.id for event in events)
    assert events[1]["changes"]["kind"] == ["information_request", "complaint"]
    assert events[-1]["details"] == {"text": "Rappeler M. Martin jeudi."}
    detail = agent_client.get(f"/api/v1/cases/{case['id']}").json()
    assert (detail["letters"], detail["outbox"]) == ([], [])
    (period,) = detail["waiting_periods"]
    assert period["ended_at"] is not None


def test_an_operation_the_status_does_not_allow_is_a_409_saying_what_is_allowed(
    agent_client: TestClient, settings: Settings
) -> None:
    case = register_letter(agent_client, received_on=today(settings)).json()
    walker = Walker(agent_client, case)

    refused = walker.do("documents-received")
    direct = walker.do("status", {"status": "closed"})

    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(
        "Impossible d'enregistrer la réception des pièces un dossier « nouveau ». "
        "Opérations possibles : classer, attribuer,"
    )
    assert "documents_received" not in refused.json()["allowed"]
    assert "request_documents" in refused.json()["allowed"]
    assert direct.status_code == 409
    assert direct.json()["allowed"] == ["in_progress"]


def test_a_stale_version_is_a_412_and_a_missing_one_a_428(
    agent_client: TestClient, settings: Settings
) -> None:
    case = register_letter(agent_client, received_on=today(settings)).json()
    first = Walker(agent_client, dict(case))
    second = Walker(agent_client, dict(case))
    first.step("classify", {"kind": "complaint"})

    stale = second.do("classify", {"kind": "suggestion"})
    missing = agent_client.post(f"/api/v1/cases/{case['id']}/close")

    assert stale.status_code == 412
    assert "modifié entre-temps" in stale.json()["detail"]
    assert missing.status_code == 428
    assert agent_client.get(f"/api/v1/cases/{case['id']}").json()["kind"] == "complaint"


def test_a_letter_dated_in_the_future_is_refused_with_a_clear_message(
    agent_client: TestClient, settings: Settings
) -> None:
    tomorrow = today(settings) + timedelta(days=1)

    refused = register_letter(agent_client, received_on=tomorrow)

    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        f"La date de réception ({tomorrow:%d/%m/%Y}) ne peut pas être postérieure à "
        f"aujourd'hui ({today(settings):%d/%m/%Y})."
    )


def test_a_suggestion_box_slip_is_a_suggestion_due_in_ten_working_days(
    agent_client: TestClient, settings: Settings
) -> None:
    slip = register_letter(
        agent_client, received_on=today(settings), channel="suggestion_box", subject="Bancs"
    ).json()
    calendar = WorkingCalendar.from_settings(settings)

    assert (slip["channel"], slip["kind"]) == ("suggestion_box", "suggestion")
    assert slip["due_date"] == (
        calendar.due_date(received=today(settings), target_days=10).isoformat()
    )
    assert slip["days_left"] >= 10


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/v1/cases/1"), ("post", "/api/v1/cases/paper")]
)
def test_without_a_token_the_api_answers_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_merging_keeps_every_message_and_event_and_the_earliest_receipt(
    agent_client: TestClient, settings: Settings
) -> None:
    first = register_letter(
        agent_client, received_on=today(settings) - timedelta(days=6), subject="Première lettre"
    ).json()
    second = register_letter(agent_client, received_on=today(settings), subject="Relance").json()
    Walker(agent_client, second).step("notes", {"text": "Le citoyen relance."})
    second = agent_client.get(f"/api/v1/cases/{second['id']}").json()

    merged = Walker(agent_client, second).step(
        "merge", {"source_case_id": first["id"], "source_version": first["version"]}
    )

    assert merged["received_at"] == first["received_at"]
    assert merged["due_date"] == first["due_date"]
    detail = agent_client.get(f"/api/v1/cases/{second['id']}").json()
    assert [m["subject"] for m in detail["messages"]] == ["Première lettre", "Relance"]
    actions = [event["action"] for event in detail["events"]]
    assert actions.count("case.registered") == 2
    assert {"case.note", "case.merged", "case.absorbed"} <= set(actions)
    absorbed = agent_client.get(f"/api/v1/cases/{first['id']}").json()
    assert (absorbed["status"], absorbed["merged_into_id"]) == ("closed", second["id"])
    listed = agent_client.get("/api/v1/cases", params={"q": "Jean Martin"}).json()
    assert [item["id"] for item in listed["items"]] == [second["id"]]
    # The citizen wrote twice: the indicators count one case, received on the first letter.
    period = {
        "from": f"{today(settings) - timedelta(days=6):%Y-%m}",
        "to": f"{today(settings):%Y-%m}",
    }
    groups = agent_client.get("/api/v1/indicators", params=period).json()["groups"]
    assert sum(group["received"] for group in groups) == 1


def test_an_attachment_downloads_as_a_file_never_shown_inline(
    agent_client: TestClient, session: Session, settings: Settings
) -> None:
    case = register_letter(agent_client, received_on=today(settings)).json()
    content = b"<html><script>alert(1)</script></html>"
    stored = FileStore(settings.file_store_dir).put_bytes(content)
    message = Message(
        case_id=case["id"],
        rfc_message_id="pj@example.org",
        fingerprint="1" * 64,
        subject="Pièces",
        body_text="Ci-joint.",
        received_at=datetime.now(UTC),
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    attachment = Attachment(
        message_id=message.id,
        position=0,
        filename="récépissé.html",
        content_type="text/html",
        size=stored.size,
        sha256=stored.sha256,
    )
    session.add(attachment)
    session.flush()

    downloaded = agent_client.get(f"/api/v1/cases/{case['id']}/attachments/{attachment.id}")
    elsewhere = agent_client.get(f"/api/v1/cases/{case['id'] + 1}/attachments/{attachment.id}")

    assert downloaded.status_code == 200
    assert downloaded.content == content
    assert downloaded.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''r%c3%a9c%c3%a9piss%c3%a9.html" in (
        downloaded.headers["Content-Disposition"].lower()
    )
    assert downloaded.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in downloaded.headers["Content-Security-Policy"]
    assert elsewhere.status_code == 404


def test_a_scanned_letter_is_attached_as_a_pdf_and_anything_else_refused(
    agent_client: TestClient, settings: Settings
) -> None:
    case = register_letter(agent_client, received_on=today(settings)).json()
    pdf = b"%PDF-1.4\n% scan\n%%EOF\n"

    not_pdf = agent_client.put(
        f"/api/v1/cases/{case['id']}/scan",
        content=b"GIF89a",
        headers={"Content-Type": "application/pdf", "If-Match": f'"{case["version"]}"'},
    )
    attached = agent_client.put(
        f"/api/v1/cases/{case['id']}/scan",
        content=pdf,
        headers={"Content-Type": "application/pdf", "If-Match": f'"{case["version"]}"'},
    )

    assert not_pdf.status_code == 422
    assert not_pdf.json()["detail"] == "Le fichier envoyé n'est pas un PDF."
    assert attached.status_code == 200, attached.text
    (letter,) = agent_client.get(f"/api/v1/cases/{case['id']}").json()["messages"]
    (scan,) = letter["attachments"]
    assert (scan["content_type"], scan["size"]) == ("application/pdf", len(pdf))
    downloaded = agent_client.get(f"/api/v1/cases/{case['id']}/attachments/{scan['id']}")
    assert downloaded.content == pdf


def test_an_agent_takes_a_case_and_a_service_head_gives_it_to_a_member(
    session: Session, client: TestClient, service_row: Service, settings: Settings
) -> None:
    agent = make_agent(session, services=[service_row])
    colleague = make_agent(session, first_name="Inès", services=[service_row])
    head = make_agent(
        session, first_name="Marc", role=UserRole.SERVICE_HEAD, services=[service_row]
    )
    outsider = make_agent(session, first_name="Luc")
    client.headers.update(agent.headers)
    case = register_letter(client, received_on=today(settings)).json()
    walker = Walker(client, case)

    to_colleague = walker.do(
        "assign", {"service_id": service_row.id, "assignee_id": colleague.user.id}
    )
    taken = walker.step("assign", {"service_id": service_row.id, "assignee_id": agent.user.id})
    client.headers.update(head.headers)
    to_outsider = walker.do(
        "assign", {"service_id": service_row.id, "assignee_id": outsider.user.id}
    )
    given = walker.step("assign", {"service_id": service_row.id, "assignee_id": colleague.user.id})

    assert to_colleague.status_code == 403
    assert "chef de service" in to_colleague.json()["detail"]
    assert taken["assignee_id"] == agent.user.id
    assert to_outsider.status_code == 422
    assert "n'est pas membre du service" in to_outsider.json()["detail"]
    assert given["assignee_id"] == colleague.user.id


def test_a_request_the_database_cannot_take_gets_a_422_not_a_500(
    agent_client: TestClient, settings: Settings
) -> None:
    """Cases found by fuzzing the API (tests/test_api_fuzzing.py), each once a 500."""
    case = register_letter(agent_client, received_on=today(settings)).json()
    walker = Walker(agent_client, case)
    canned = agent_client.post("/api/v1/canned-replies", json={"title": "Horaires", "body": "9 h"})

    nul_subject = register_letter(agent_client, received_on=today(settings), subject="A\u0000")
    year_one = register_letter(agent_client, received_on=date(1, 1, 1))
    answered_in_year_one = walker.do(
        "answered-elsewhere", {"channel": "phone", "answered_on": "0001-01-01"}
    )
    nul_note = walker.do("notes", {"text": "Rappeler\u0000"})
    huge_service = walker.do("assign", {"service_id": 2**31})
    huge_source = walker.do("merge", {"source_case_id": 2**63, "source_version": 1})
    null_title = agent_client.patch(
        f"/api/v1/canned-replies/{canned.json()['id']}", json={"title": None}
    )

    for refused, message in [
        (nul_subject, "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."),
        (nul_note, "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."),
        (year_one, "Doit être supérieur ou égal à 1900-01-01."),
        (answered_in_year_one, "Doit être supérieur ou égal à 1900-01-01."),
        (huge_service, "Doit être inférieur ou égal à 2147483647."),
        (huge_source, "Doit être inférieur ou égal à 2147483647."),
        (null_title, "Valeur null refusée : omettez le champ pour le laisser inchangé."),
    ]:
        assert refused.status_code == 422
        assert [error["msg"] for error in refused.json()["detail"]] == [message]
