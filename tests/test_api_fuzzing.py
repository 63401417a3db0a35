"""Fuzzing the API from its own OpenAPI document: no request, however odd, gets a 5xx.

Schemathesis sends every operation valid and invalid requests (its examples, coverage and
fuzzing phases), authenticated as an administrator who is a member of the service that owns a
mailbox, a case with a message, an attachment and a letter, a canned reply, a manual indicator
and an appointment slot, so that path parameters sometimes name real rows. Each request runs in
its own committed transaction, as in production; every row is deleted after each operation.
"""

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine
from sqlmodel import Session, select

from backend.config import Settings
from backend.database import session_scope
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.main import create_app
from backend.models import (
    AppointmentSlot,
    CannedReply,
    Case,
    Letter,
    LetterDelivery,
    Mailbox,
    MailboxKind,
    ManualIndicator,
    Service,
    UserRole,
)
from backend.storage.filestore import FileStore
from tests.fixtures.mailboxes import ingest
from tests.fixtures.users import make_agent

# Loaded once, at collection: the operations of the document become the test's parameters.
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app())
# The scanned letter goes as the request body, as raw bytes.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")
# Generated requests per operation, beside the schema's examples and the coverage phase's
# boundary values: about a minute and a half per database for the whole API.
FUZZED_EXAMPLES = 50


@pytest.fixture
def administrator_headers(committed_engine: Engine, settings: Settings) -> dict[str, str]:
    """The Authorization header of an administrator, over a database that is not empty."""
    with session_scope(committed_engine) as session:
        service = _service(session)
        mailbox = _mailbox(session, service=service)
        administrator = make_agent(
            session, first_name="Alain", role=UserRole.ADMIN, services=[service]
        )
        case = _case_with_message(session, mailbox=mailbox, settings=settings)
        _add_related_rows(session, case=case, service=service, settings=settings)
    return administrator.headers


@schema.parametrize()
@hypothesis.settings(
    max_examples=FUZZED_EXAMPLES,
    # The database fixture is meant to be shared by every example of one operation.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
def test_no_request_gets_a_server_error(
    case: schemathesis.Case[Any], administrator_headers: dict[str, str]
) -> None:
    """Whatever the operation and the input, the answer is not a 5xx."""
    case.call_and_validate(headers=administrator_headers, checks=[not_a_server_error])


def _service(session: Session) -> Service:
    """The service the administrator belongs to, and that owns the mailbox."""
    service = Service(slug="sejour", name="Bureau du séjour", email="pref-sejour@gers.gouv.fr")
    session.add(service)
    session.flush()
    return service


def _mailbox(session: Session, *, service: Service) -> Mailbox:
    """A mailbox whose password variable is unset: a connection test fails at once."""
    mailbox_in = MailboxCreate(
        slug="contact",
        kind=MailboxKind.CONTACT,
        address="prefecture@gers.gouv.fr",
        imap_host="127.0.0.1",
        imap_username="contact",
        password_env="QUALIPREF_TEST_FUZZING_UNSET_PASSWORD",
        start_date=date(2026, 1, 1),
        service_id=service.id,
    )
    mailbox: Mailbox = create_mailbox(session, mailbox_in=mailbox_in)
    return mailbox


def _case_with_message(session: Session, *, mailbox: Mailbox, settings: Settings) -> Case:
    """A citizen's e-mail with an attachment, logged as the poller logs it, and its case."""
    arrived = datetime.now(UTC) - timedelta(days=3)
    ingest(session, mailbox, settings, _citizen_mail(sent=arrived), arrived=arrived)
    return session.exec(select(Case)).one()


def _citizen_mail(*, sent: datetime) -> bytes:
    """An e-mail asking about a residence permit, with a PDF attached."""
    message = EmailMessage()
    message["From"] = "Camille Martin <camille.martin@example.org>"
    message["To"] = "prefecture@gers.gouv.fr"
    message["Subject"] = "Demande de titre de séjour"
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content("Bonjour,\nvoici mon justificatif de domicile.\nCordialement")
    message.add_attachment(
        b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf", filename="domicile.pdf"
    )
    return message.as_bytes(policy=SMTP)


def _add_related_rows(
    session: Session, *, case: Case, service: Service, settings: Settings
) -> None:
    """A letter sent on the case, a canned reply, a manual indicator and an appointment slot."""
    assert case.id is not None
    assert service.id is not None
    pdf = FileStore(settings.file_store_dir).put_bytes(b"%PDF-1.4\n%%EOF\n")
    session.add_all(
        [
            Letter(
                case_id=case.id,
                template_name="reponse-libre",
                template_version="0" * 64,
                pdf_sha256=pdf.sha256,
                pdf_size=pdf.size,
                delivery=LetterDelivery.POST,
                sent_at=datetime.now(UTC),
            ),
            CannedReply(service_id=service.id, title="Horaires", body="Bonjour {{ citizen_name }}"),
            ManualIndicator(label="Taux d'appels décrochés", target="90,00 %"),
            AppointmentSlot(
                service_id=service.id,
                starts_at=datetime.now(UTC) + timedelta(days=7),
                place="Guichet du séjour, Auch",
            ),
        ]
    )
    session.flush()
