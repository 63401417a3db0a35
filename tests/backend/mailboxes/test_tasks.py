"""Beat's periodic pass polls every due mailbox through the Celery workers."""

import time

from celery import Celery
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from backend.mailboxes.pipeline import PARALLEL_MIN_MESSAGES
from backend.models import Message
from tests.fixtures.mailboxes import MailboxFactory, PolledMailbox, citizen_mail

PATIENCE_SECONDS = 120


def _logged(engine: Engine, mailbox: PolledMailbox) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).select_from(Message).where(Message.mailbox_id == mailbox.id)
        ).one()


def test_a_worker_polls_a_backlog_queued_by_the_periodic_pass(
    celery_worker_app: Celery, make_mailbox: MailboxFactory, engine: Engine
) -> None:
    mailbox = make_mailbox()
    # Enough for the parsing processes, which a threaded worker starts from a fork server.
    backlog = PARALLEL_MIN_MESSAGES + 50
    mailbox.append_many([citizen_mail(subject=f"Demande n° {n}") for n in range(backlog)])

    queued = celery_worker_app.send_task("qualipref.poll_due_mailboxes").get(timeout=30)

    assert queued == [mailbox.id]
    deadline = time.monotonic() + PATIENCE_SECONDS
    while _logged(engine, mailbox) < backlog and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _logged(engine, mailbox) == backlog
