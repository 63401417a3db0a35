"""Replying by e-mail through the API: delivered in the citizen's thread, and their answer
threads back into the same case."""

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.database import get_session, session_scope
from backend.mailboxes.polling import poll_mailbox
from backend.main import create_app
from backend.models import Case, Message
from tests.backend.acknowledgements.test_acknowledgements import deliver_all, parsed
from tests.fixtures.mailboxes import MailboxFactory, citizen_mail
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.users import Agent, make_agent

CITIZEN_MESSAGE_ID = "<premiere-demande@example.org>"


@pytest.fixture
def committed_agent(committed_engine: Engine) -> Agent:
    with session_scope(committed_engine) as session:
        return make_agent(session, first_name="Sophie")


@pytest.fixture
def committing_client(committed_engine: Engine, committed_agent: Agent) -> Iterator[TestClient]:
    """An authenticated client whose requests commit, as in production."""
    app = create_app()

    def _session() -> Iterator[Session]:
        with session_scope(committed_engine) as session:
            yield session

    app.dependency_overrides[get_session] = _session
    with TestClient(app, headers=committed_agent.headers) as client:
        yield client


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url})


def text_of(message: EmailMessage) -> str:
    """The text part, with the line ends a reader sees."""
    return str(message.get_content()).replace("\r\n", "\n")


def only_case(engine: Engine) -> Case:
    with Session(engine) as session:
        return session.exec(select(Case)).one()


def test_a_reply_reaches_the_citizen_in_their_thread_and_their_answer_comes_back(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    committing_client: TestClient,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Horaires du guichet", message_id=CITIZEN_MESSAGE_ID))
    poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    case = only_case(committed_engine)

    replied = committing_client.post(
        f"/api/v1/cases/{case.id}/reply",
        json={"text": "Madame, Monsieur,\nLe guichet ouvre à 9 h."},
        headers={"If-Match": f'"{case.version}"'},
    )
    deliver_all(smtp_settings, committed_engine)

    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "answered"
    sent = [parsed(m) for m in smtp_server.wait_for(2)]
    (reply,) = [message for message in sent if message["Auto-Submitted"] is None]
    assert reply["Subject"] == f"Re: Horaires du guichet [{case.reference}]"
    assert reply["In-Reply-To"] == CITIZEN_MESSAGE_ID
    assert CITIZEN_MESSAGE_ID in reply["References"]
    assert reply["To"].addresses[0].addr_spec == "camille.martin@example.org"
    body = text_of(reply)
    assert "Le guichet ouvre à 9 h." in body
    assert "Sophie Dupont\nAgente d'accueil" in body  # CRPA L111-2
    answered = only_case(committed_engine)
    assert answered.answered_at is not None
    assert answered.answer_channel == "email"

    mailbox.append(
        citizen_mail(
            subject="Re: Horaires du guichet",
            body="Merci, et le samedi ?",
            in_reply_to=reply["Message-ID"],
        )
    )
    report = poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)

    assert (report.new_messages, report.new_cases) == (1, 0)
    with Session(committed_engine) as session:
        messages = session.exec(
            select(Message).where(Message.case_id == case.id).order_by(col(Message.id))
        ).all()
        assert [m.body_text for m in messages][-1] == "Merci, et le samedi ?"
    assert only_case(committed_engine).status == "new"  # back to work, nobody assigned yet


def test_a_canned_reply_is_filled_from_the_case_and_a_missing_variable_is_named(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    committing_client: TestClient,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Rendez-vous", sender="Jeanne Petit <jeanne@example.org>"))
    poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    case = only_case(committed_engine)
    canned = committing_client.post(
        "/api/v1/canned-replies",
        json={
            "title": "Proposition de rendez-vous",
            "body": "Bonjour {{ citizen_name }},\nvotre dossier {{ reference }} : "
            "rendez-vous le {{ date_rdv }}.",
        },
    ).json()

    missing = committing_client.post(
        f"/api/v1/cases/{case.id}/reply",
        json={"canned_reply_id": canned["id"]},
        headers={"If-Match": f'"{case.version}"'},
    )
    filled = committing_client.post(
        f"/api/v1/cases/{case.id}/reply",
        json={"canned_reply_id": canned["id"], "variables": {"date_rdv": "3 décembre 2026"}},
        headers={"If-Match": f'"{case.version}"'},
    )
    deliver_all(smtp_settings, committed_engine)

    assert missing.status_code == 422
    assert "« date_rdv »" in missing.json()["detail"]
    assert "Proposition de rendez-vous" in missing.json()["detail"]
    assert filled.status_code == 200, filled.text
    sent = [parsed(m) for m in smtp_server.wait_for(2)]
    (reply,) = [message for message in sent if message["Auto-Submitted"] is None]
    assert text_of(reply).startswith(
        f"Bonjour Jeanne Petit,\nvotre dossier {case.reference} : rendez-vous le 3 décembre 2026."
    )
