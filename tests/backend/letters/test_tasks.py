"""Standard letters sent by a real Celery worker, queued once the caller's transaction commits."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from celery import Celery
from sqlalchemy import Engine
from sqlmodel import Session, col, select

import workers.app
from backend.cases.service import PaperMail, register_paper
from backend.config import Settings
from backend.database import session_scope
from backend.letters.tasks import SEND_LETTER_TASK, enqueue_letters, send_letter_task
from backend.letters.templates import LetterChannel, LetterTemplateError
from backend.models import (
    AuditEvent,
    Case,
    CaseChannel,
    CaseKind,
    CaseStatus,
    Letter,
    OutboxEmail,
    OutboxPurpose,
    OutboxStatus,
)
from backend.storage.filestore import FileStore
from tests.fixtures.users import make_agent

PATIENCE_SECONDS = 60
MESSAGE = {"message": "Une ligne supplémentaire est ouverte depuis le 2 novembre 2026."}

T = TypeVar("T")


@dataclass(frozen=True)
class CommittedCase:
    """A paper complaint and the agent who answers it, both committed."""

    case_id: int
    agent_id: int


@pytest.fixture
def worker_app(celery_worker_app: Celery, monkeypatch: pytest.MonkeyPatch) -> Celery:
    """The worker's app, also the one tasks queued after a commit are sent to."""
    monkeypatch.setattr(workers.app, "celery_app", celery_worker_app)
    return celery_worker_app


@pytest.fixture
def committed_case(committed_engine: Engine, settings: Settings) -> CommittedCase:
    with session_scope(committed_engine) as session:
        agent = make_agent(session).user
        case = register_paper(
            session,
            paper=PaperMail(
                channel=CaseChannel.PAPER,
                received_on=settings.today() - timedelta(days=3),
                sender_name="M. Karim Benali",
                sender_postal_address="12 rue Victor Hugo\n32000 Auch",
                sender_email="karim.benali@example.org",
                subject="Attente au standard téléphonique",
                kind=CaseKind.COMPLAINT,
            ),
            actor=agent,
            settings=settings,
        )
        assert case.id is not None
        assert agent.id is not None
        return CommittedCase(case_id=case.id, agent_id=agent.id)


def eventually(read: Callable[[], T], *, done: Callable[[T], bool]) -> T:
    """What read returns once done says so, or at the end of the patience."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def letters_of(engine: Engine) -> list[Letter]:
    with Session(engine) as session:
        return list(session.exec(select(Letter).order_by(col(Letter.id))).all())


def reloaded(engine: Engine, case_id: int) -> Case:
    with Session(engine) as session:
        case = session.get(Case, case_id)
    assert case is not None
    return case


@pytest.mark.usefixtures("worker_app")
def test_three_letters_queued_by_a_commit_are_sent_by_the_worker(
    committed_engine: Engine, committed_case: CommittedCase, settings: Settings
) -> None:
    posted_on = settings.today() - timedelta(days=1)
    with session_scope(committed_engine) as session:
        for template_name, values in [
            ("accuse-reception-reclamation", {}),
            ("reponse-libre", MESSAGE),
            ("reponse-sejour", MESSAGE),
        ]:
            enqueue_letters(
                session,
                case_ids=[committed_case.case_id],
                template_name=template_name,
                values=values,
                channel=LetterChannel.POST,
                actor_id=committed_case.agent_id,
                settings=settings,
                posted_on=posted_on,
            )

    letters = eventually(lambda: letters_of(committed_engine), done=lambda rows: len(rows) == 3)

    assert sorted(letter.template_name for letter in letters) == [
        "accuse-reception-reclamation",
        "reponse-libre",
        "reponse-sejour",
    ]
    store = FileStore(settings.file_store_dir)
    for letter in letters:
        assert letter.pdf_sha256 is not None
        assert store.read_bytes(letter.pdf_sha256).startswith(b"%PDF")
        assert letter.created_by_id == committed_case.agent_id
    case = reloaded(committed_engine, committed_case.case_id)
    assert case.status is CaseStatus.ANSWERED
    assert case.answered_on == posted_on
    assert case.acknowledged_at is not None
    with Session(committed_engine) as session:
        recorded = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "case.letter")
        ).all()
    assert len(recorded) == 3


@pytest.mark.usefixtures("worker_app")
def test_a_letter_by_email_leaves_through_the_outbox_after_the_tasks_commit(
    committed_engine: Engine, committed_case: CommittedCase, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        enqueue_letters(
            session,
            case_ids=[committed_case.case_id],
            template_name="reponse-libre",
            values=MESSAGE,
            channel=LetterChannel.EMAIL,
            actor_id=committed_case.agent_id,
            settings=settings,
        )

    def sent_emails() -> list[OutboxEmail]:
        with Session(committed_engine) as session:
            return list(
                session.exec(
                    select(OutboxEmail).where(col(OutboxEmail.status) == OutboxStatus.SENT)
                ).all()
            )

    # The letter's task queues the delivery after its own commit: the same worker sends it.
    (email,) = eventually(sent_emails, done=lambda rows: len(rows) == 1)
    (letter,) = letters_of(committed_engine)
    assert letter.outbox_email_id == email.id
    assert (settings.outbox_dir / f"{email.id:08d}.eml").is_file()
    case = reloaded(committed_engine, committed_case.case_id)
    assert case.status is CaseStatus.ANSWERED
    assert case.answered_at == email.sent_at


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"template_name": "inexistant"}, "Le modèle de lettre « inexistant » n'existe pas."),
        ({"case_id": 999_999}, "Aucun dossier n° 999999."),
    ],
    ids=["unknown-template", "unknown-case"],
)
def test_a_letter_that_cannot_be_sent_is_logged_and_the_worker_goes_on(
    worker_app: Celery,
    committed_engine: Engine,
    committed_case: CommittedCase,
    caplog: pytest.LogCaptureFixture,
    change: dict[str, Any],
    error: str,
) -> None:
    kwargs = {
        "case_id": committed_case.case_id,
        "template_name": "reponse-libre",
        "values": MESSAGE,
        "channel": "post",
        "actor_id": committed_case.agent_id,
        "posted_on": None,
    }
    caplog.set_level(logging.ERROR, logger="backend.letters.tasks")

    result = worker_app.send_task(SEND_LETTER_TASK, kwargs=kwargs | change)

    assert result.get(timeout=PATIENCE_SECONDS) == {"error": error}
    assert error in caplog.text
    assert letters_of(committed_engine) == []
    assert reloaded(committed_engine, committed_case.case_id).status is CaseStatus.NEW
    assert worker_app.send_task("qualipref.ping").get(timeout=PATIENCE_SECONDS) == "pong"


@pytest.mark.parametrize(
    ("template_name", "values", "error"),
    [
        ("inexistant", {}, "« inexistant » n'existe pas"),
        ("demande-pieces", {"documents": ["Timbre fiscal"], "deadline_days": "quinze"}, "entier"),
    ],
    ids=["unknown-template", "wrong-value"],
)
def test_a_letter_the_template_refuses_is_never_queued(
    session: Session,
    settings: Settings,
    template_name: str,
    values: dict[str, Any],
    error: str,
) -> None:
    with pytest.raises(LetterTemplateError, match=error):
        enqueue_letters(
            session,
            case_ids=[1],
            template_name=template_name,
            values=values,
            channel=LetterChannel.POST,
            actor_id=1,
            settings=settings,
        )


def test_a_task_delivered_twice_records_and_sends_its_letter_once(
    committed_engine: Engine, committed_case: CommittedCase
) -> None:
    task = {
        "case_id": committed_case.case_id,
        "template_name": "reponse-libre",
        "values": {"message": "Votre dossier est complet."},
        "channel": "email",
        "actor_id": committed_case.agent_id,
        "request_id": "6f1c0b1e9d0f4f0e8c1d2a3b4c5d6e7f",
    }

    # As a worker killed after the commit and before the acknowledgement would see it.
    first = send_letter_task.run(**task)
    second = send_letter_task.run(**task)

    assert first == second
    (letter,) = letters_of(committed_engine)
    with Session(committed_engine) as session:
        assert (
            len(
                session.exec(
                    select(OutboxEmail).where(col(OutboxEmail.purpose) == OutboxPurpose.REPLY)
                ).all()
            )
            == 1
        )
    assert letter.request_id == task["request_id"]
