"""Through a real Celery worker: a logged message's acknowledgement leaves after the commit."""

import time

import pytest
from celery import Celery
from sqlalchemy import Engine
from sqlmodel import Session, select

import workers.app
from backend.config import Settings
from backend.mailboxes.polling import poll_mailbox
from backend.models import Case, OutboxEmail, OutboxStatus
from tests.fixtures.mailboxes import MailboxFactory, citizen_mail

PATIENCE_SECONDS = 30


def wait_for_status(engine: Engine, *, status: OutboxStatus) -> OutboxEmail:
    """The single outbox e-mail once it has this status."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        with Session(engine) as session:
            email = session.exec(select(OutboxEmail)).one()
        if email.status is status or time.monotonic() > deadline:
            return email
        time.sleep(0.1)


def test_the_acknowledgement_task_runs_after_the_poll_commits(
    celery_worker_app: Celery,
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workers.app, "celery_app", celery_worker_app)
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Horaires"))

    poll_mailbox(mailbox_id=mailbox.id, settings=settings, engine=committed_engine)

    email = wait_for_status(committed_engine, status=OutboxStatus.SENT)
    assert email.status is OutboxStatus.SENT
    written = (settings.outbox_dir / f"{email.id:08d}.eml").read_bytes()
    assert b"Auto-Submitted: auto-replied" in written
    with Session(committed_engine) as session:
        case = session.exec(select(Case)).one()
    assert case.acknowledged_at == email.sent_at


def test_beats_sweep_sends_what_is_due_again(
    celery_worker_app: Celery,
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    settings: Settings,
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Horaires"))
    # No worker listens to the application's own queue: the task sent after this commit waits.
    poll_mailbox(mailbox_id=mailbox.id, settings=settings, engine=committed_engine)

    swept = celery_worker_app.send_task("qualipref.deliver_due_emails").get(timeout=30)

    email = wait_for_status(committed_engine, status=OutboxStatus.SENT)
    assert swept == {str(email.id): "sent"}
