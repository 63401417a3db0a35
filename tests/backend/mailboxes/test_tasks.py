"""Beat's periodic pass polls every due mailbox through the Celery workers."""

from celery import Celery
from sqlalchemy import Engine

from backend.mailboxes.pipeline import PARALLEL_MIN_MESSAGES
from tests.fixtures.mailboxes import MailboxFactory, citizen_mail, wait_until_logged

PATIENCE_SECONDS = 120


def test_a_worker_polls_a_backlog_queued_by_the_periodic_pass(
    celery_worker_app: Celery, make_mailbox: MailboxFactory, engine: Engine
) -> None:
    mailbox = make_mailbox()
    # Enough for the parsing processes, which a threaded worker starts from a fork server.
    backlog = PARALLEL_MIN_MESSAGES + 50
    mailbox.append_many([citizen_mail(subject=f"Demande n° {n}") for n in range(backlog)])

    queued = celery_worker_app.send_task("qualipref.poll_due_mailboxes").get(timeout=30)

    assert queued == [mailbox.id]
    logged = wait_until_logged(engine, mailbox, count=backlog, patience_seconds=PATIENCE_SECONDS)
    assert logged == backlog
