"""IDLE mode logs mail as it arrives, without waiting for the next periodic poll."""

import threading
import time

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from backend.config import Settings
from backend.database import session_scope
from backend.mailboxes.idle import watch_mailboxes
from backend.mailboxes.service import release_poll_lease, take_poll_lease
from backend.models import Message
from tests.fixtures.mailboxes import MailboxFactory, PolledMailbox, citizen_mail

PATIENCE_SECONDS = 30


def _logged(engine: Engine, mailbox: PolledMailbox) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).select_from(Message).where(Message.mailbox_id == mailbox.id)
        ).one()


def _wait_for_count(engine: Engine, mailbox: PolledMailbox, count: int) -> int:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while (logged := _logged(engine, mailbox)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return logged


def test_idle_watcher_logs_each_message_as_it_arrives(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Avant la surveillance"))
    stop = threading.Event()
    threads = watch_mailboxes(settings=settings, engine=engine, stop=stop, slug=mailbox.slug)
    try:
        assert _wait_for_count(engine, mailbox, 1) == 1
        for number in range(3):
            mailbox.append(citizen_mail(subject=f"Pendant la surveillance {number}"))
            assert _wait_for_count(engine, mailbox, 2 + number) == 2 + number
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert not any(thread.is_alive() for thread in threads)


def test_idle_watcher_logs_mail_announced_while_a_periodic_poll_held_the_mailbox(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    with session_scope(engine) as session:
        assert take_poll_lease(session, mailbox_id=mailbox.id, owner="beat", duration_seconds=60)
    stop = threading.Event()
    threads = watch_mailboxes(settings=settings, engine=engine, stop=stop, slug=mailbox.slug)
    try:
        mailbox.append(citizen_mail(subject="Pendant une relève périodique"))
        time.sleep(2)
        assert _logged(engine, mailbox) == 0
        with session_scope(engine) as session:
            release_poll_lease(session, mailbox_id=mailbox.id, owner="beat")

        assert _wait_for_count(engine, mailbox, 1) == 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
