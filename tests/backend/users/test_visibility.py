"""An agent of the contact service never reaches a séjour case, whatever the route.

Every route of the application's route table is called: the routes that name a case, a
message, an attachment or a letter must answer 404 for the séjour ones (not 403: nothing tells
the case exists), and every other route must not show a word of them. A route added later
falls under the same check, or fails until it is classified below.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import httpx
import pytest
from fastapi import routing
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.letters.service import send_letter
from backend.letters.templates import LetterChannel
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.main import create_app
from backend.models import Attachment, Case, Letter, MailboxKind, Message, Service
from tests.fixtures.mailboxes import ingest
from tests.fixtures.users import Agent, make_agent

SECRET_SUBJECT = "Titre de séjour de Mme Ayşe Yılmaz-Kowalczyk"
SECRET_SENDER = "ayse.yilmaz-kowalczyk@example.org"
SECRET_BODY = "numéro étranger 7501234567"
# Path parameters that name something of a case, with the séjour value each route gets.
CASE_PARAMETERS = ("case_id", "message_id", "attachment_id", "letter_id")
# Routes whose parameters name no case data, and why they cannot show any.
NO_CASE_DATA = {
    "/api/v1/mailboxes/{slug}": "mailbox settings, no case",
    "/api/v1/mailboxes/{slug}/test": "an IMAP connection test",
    "/api/v1/canned-replies/{canned_id}": "a service's reply texts",
    "/api/v1/indicators/manual/{indicator_id}": "a manual indicator's definition",
    "/api/v1/indicators/manual/{indicator_id}/values/{month}": "a monthly figure",
    "/api/v1/letter-templates/{name}": "a template and its variables",
    "/api/v1/users/{user_id}": "an account (administrators)",
}
# The documentation pages serve the schema, not data.
DOCUMENTATION = {"/api/v1/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@dataclass(frozen=True)
class SejourCase:
    """A séjour case with a message, an attachment and a letter, and its identifiers."""

    case: Case
    message: Message
    attachment: Attachment
    letter: Letter

    def parameter(self, name: str) -> int:
        """The séjour value of a path parameter."""
        values = {
            "case_id": self.case.id,
            "message_id": self.message.id,
            "attachment_id": self.attachment.id,
            "letter_id": self.letter.id,
        }
        value = values[name]
        assert value is not None
        return value


@pytest.fixture
def sejour(session: Session, settings: Settings) -> SejourCase:
    """The séjour service's mailbox with one citizen's case, answered by letter."""
    service = _service(session, slug="sejour", name="Bureau du séjour")
    mailbox = create_mailbox(
        session,
        mailbox_in=MailboxCreate(
            slug="sejour",
            kind=MailboxKind.SEJOUR,
            address="pref-sejour@gers.gouv.fr",
            imap_host="127.0.0.1",
            imap_username="sejour",
            password_env="SEJOUR_IMAP_PASSWORD",
            start_date=date(2026, 1, 1),
            service_id=service.id,
        ),
    )
    ingest(session, mailbox, settings, _mail_with_passport(), arrived=datetime.now(UTC))
    case = session.exec(select(Case).where(col(Case.mailbox_id) == mailbox.id)).one()
    assert case.service_id == service.id
    message = session.exec(select(Message).where(col(Message.case_id) == case.id)).one()
    attachment = session.exec(select(Attachment)).one()
    sejour_agent = make_agent(session, first_name="Paul", services=[service])
    letter = send_letter(
        session,
        case=case,
        template_name="reponse-libre",
        values={"message": "Votre titre de séjour est disponible."},
        channel=LetterChannel.POST,
        actor=sejour_agent.user,
        settings=settings,
        posted_on=date.today(),
    )
    return SejourCase(case=case, message=message, attachment=attachment, letter=letter)


@pytest.fixture
def contact_agent(session: Session) -> Agent:
    """An agent of the contact service only."""
    return make_agent(session, services=[_service(session, slug="accueil", name="Accueil général")])


def test_every_route_hides_the_sejour_cases_from_a_contact_agent(
    session: Session, client: TestClient, sejour: SejourCase, contact_agent: Agent
) -> None:
    checked: list[str] = []
    for path, method in _routes():
        if path in DOCUMENTATION:
            continue
        parameters = re.findall(r"{(\w+)}", path)
        if any(name in CASE_PARAMETERS for name in parameters):
            url = path.format(**{name: sejour.parameter(name) for name in parameters})
            response = _call(client, method, url, agent=contact_agent)
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        elif parameters:
            assert path in NO_CASE_DATA, f"{method} {path}: classify this new route"
            continue
        elif method == "GET":
            response = _call(client, method, path, agent=contact_agent)
            for secret in (SECRET_SUBJECT, SECRET_SENDER, SECRET_BODY, sejour.case.reference):
                assert secret not in response.text, f"GET {path} shows a séjour case"
        checked.append(f"{method} {path}")

    assert "GET /api/v1/cases/{case_id}" in checked
    assert "GET /api/v1/cases/{case_id}/attachments/{attachment_id}" in checked
    assert "GET /api/v1/cases/{case_id}/letters/{letter_id}/pdf" in checked
    assert "GET /api/v1/cases" in checked


def test_the_same_routes_answer_an_agent_of_the_sejour_service(
    session: Session, client: TestClient, sejour: SejourCase
) -> None:
    service = session.get(Service, sejour.case.service_id)
    assert service is not None
    sejour_agent = make_agent(session, first_name="Inès", services=[service])
    case_id, attachment_id = sejour.case.id, sejour.attachment.id

    read = client.get(f"/api/v1/cases/{case_id}", headers=sejour_agent.headers)
    attachment = client.get(
        f"/api/v1/cases/{case_id}/attachments/{attachment_id}", headers=sejour_agent.headers
    )
    listed = client.get("/api/v1/cases", headers=sejour_agent.headers).json()

    assert read.status_code == 200
    assert read.json()["subject"] == SECRET_SUBJECT
    assert attachment.content == b"%PDF-1.4 passeport"
    assert [item["reference"] for item in listed["items"]] == [sejour.case.reference]


def _routes() -> list[tuple[str, str]]:
    """Every (path, method) of the application's route table."""
    found: list[tuple[str, str]] = []
    for context in routing.iter_route_contexts(create_app().routes):
        methods: set[str] = getattr(context, "methods", None) or set()
        path = str(getattr(context, "path_format", None) or getattr(context, "path", ""))
        found += [(path, method) for method in sorted(methods) if method != "HEAD"]
    return found


def _call(client: TestClient, method: str, url: str, *, agent: Agent) -> httpx.Response:
    """The route called as the agent, with an If-Match and an empty body where one is read."""
    headers = {**agent.headers, "If-Match": '"1"'}
    body: dict[str, object] | None = None if method in {"GET", "DELETE"} else {}
    response: httpx.Response = client.request(method, url, headers=headers, json=body)
    return response


def _service(session: Session, *, slug: str, name: str) -> Service:
    service = Service(slug=slug, name=name, email=f"pref-{slug}@gers.gouv.fr")
    session.add(service)
    session.flush()
    return service


def _mail_with_passport() -> bytes:
    message = EmailMessage()
    message["From"] = f"Ayşe Yılmaz-Kowalczyk <{SECRET_SENDER}>"
    message["To"] = "pref-sejour@gers.gouv.fr"
    message["Subject"] = SECRET_SUBJECT
    message["Message-ID"] = make_msgid(domain="example.org")
    message["Date"] = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    message.set_content(f"Bonjour, voici mon passeport ({SECRET_BODY}).")
    message.add_attachment(
        b"%PDF-1.4 passeport", maintype="application", subtype="pdf", filename="passeport.pdf"
    )
    return message.as_bytes(policy=SMTP)
