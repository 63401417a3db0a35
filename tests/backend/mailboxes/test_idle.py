"""IDLE mode logs mail as it arrives, without waiting for the next periodic poll."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from backend.config import Settings
from backend.database import session_scope
from backend.mailboxes.idle import IdleSupervisor
from backend.mailboxes.service import release_poll_lease, take_poll_lease
from backend.models import Mailbox
from tests.fixtures.mailboxes import (
    MailboxFactory,
    citizen_mail,
    logged_count,
    wait_until_logged,
)

PATIENCE_SECONDS = 30


@contextmanager
def _watching(
    settings: Settings, engine: Engine, *, slug: str | None, rescan_seconds: float = 30.0
) -> Iterator[IdleSupervisor]:
    """The IDLE supervisor running in a thread for the duration of the block."""
    supervisor = IdleSupervisor(settings=settings, engine=engine, slug=slug)
    stop = threading.Event()
    thread = threading.Thread(
        target=supervisor.run, kwargs={"stop": stop, "rescan_seconds": rescan_seconds}
    )
    thread.start()
    try:
        yield supervisor
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert supervisor.watchers == {}


def test_idle_watcher_logs_each_message_as_it_arrives(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Avant la surveillance"))
    with _watching(settings, engine, slug=mailbox.slug):
        assert wait_until_logged(engine, mailbox, count=1) == 1
        for number in range(3):
            mailbox.append(citizen_mail(subject=f"Pendant la surveillance {number}"))
            assert wait_until_logged(engine, mailbox, count=2 + number) == 2 + number


def test_idle_watcher_logs_mail_announced_while_a_periodic_poll_held_the_mailbox(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    with session_scope(engine) as session:
        assert take_poll_lease(session, mailbox_id=mailbox.id, owner="beat", duration_seconds=60)
    with _watching(settings, engine, slug=mailbox.slug):
        mailbox.append(citizen_mail(subject="Pendant une relève périodique"))
        time.sleep(2)
        assert logged_count(engine, mailbox) == 0
        with session_scope(engine) as session:
            release_poll_lease(session, mailbox_id=mailbox.id, owner="beat")

        assert wait_until_logged(engine, mailbox, count=1) == 1


def test_a_mailbox_added_while_watching_is_watched_and_a_disabled_one_no_longer(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    with _watching(settings, engine, slug=None, rescan_seconds=0.2) as supervisor:
        mailbox = make_mailbox()
        mailbox.append(citizen_mail(subject="Boîte ajoutée pendant la surveillance"))
        assert wait_until_logged(engine, mailbox, count=1) == 1

        with session_scope(engine) as session:
            row = session.get(Mailbox, mailbox.id)
            assert row is not None
            row.enabled = False
        deadline = time.monotonic() + PATIENCE_SECONDS
        while mailbox.id in supervisor.watchers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mailbox.id not in supervisor.watchers
