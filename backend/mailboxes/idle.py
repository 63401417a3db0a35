"""IMAP IDLE: one thread per mailbox waits for the server to announce mail, then polls."""

import logging
import threading
import time

from sqlalchemy import Engine

from backend.config import Settings
from backend.database import session_scope
from backend.mailboxes.imap import MailboxConnectionError, open_folder
from backend.mailboxes.polling import BUSY_ERROR, poll_mailbox
from backend.mailboxes.service import imap_settings_for, list_mailboxes
from backend.models import Mailbox

logger = logging.getLogger(__name__)

# RFC 2177: re-issue IDLE before servers drop it (29 min); shorter keeps NAT mappings alive.
IDLE_RENEW_SECONDS = 300.0
RETRY_MIN_SECONDS = 2.0


def watch_mailboxes(
    *, settings: Settings, engine: Engine, stop: threading.Event, slug: str | None = None
) -> list[threading.Thread]:
    """Start one watcher thread per enabled mailbox (or the one named)."""
    with session_scope(engine) as session:
        mailboxes = [
            mailbox
            for mailbox in list_mailboxes(session, enabled_only=slug is None)
            if slug is None or mailbox.slug == slug
        ]
        for mailbox in mailboxes:
            session.expunge(mailbox)
    threads = [
        threading.Thread(
            target=watch_mailbox,
            kwargs={"mailbox": mailbox, "settings": settings, "engine": engine, "stop": stop},
            name=f"idle-{mailbox.slug}",
            daemon=True,
        )
        for mailbox in mailboxes
    ]
    for thread in threads:
        thread.start()
    return threads


def watch_mailbox(
    *, mailbox: Mailbox, settings: Settings, engine: Engine, stop: threading.Event
) -> None:
    """Hold IDLE on the folder and poll whenever the server announces a change, until stopped."""
    failures = 0
    while not stop.is_set():
        try:
            _idle_session(mailbox=mailbox, settings=settings, engine=engine, stop=stop)
            failures = 0
        except MailboxConnectionError as error:
            failures += 1
            delay = min(settings.poll_backoff_max_seconds, RETRY_MIN_SECONDS * 2**failures)
            logger.warning("IDLE on %s failed (%s); retrying in %.0f s", mailbox.slug, error, delay)
            stop.wait(delay)


def _idle_session(
    *, mailbox: Mailbox, settings: Settings, engine: Engine, stop: threading.Event
) -> None:
    """One IDLE connection, renewed after IDLE_RENEW_SECONDS."""
    assert mailbox.id is not None
    deadline = time.monotonic() + IDLE_RENEW_SECONDS
    with (
        open_folder(imap_settings_for(mailbox, settings=settings)) as folder,
        folder.idling(),
    ):
        # Polled once IDLE is on: mail that arrived before is fetched, later mail is announced.
        changed = True
        while not stop.is_set() and time.monotonic() < deadline:
            busy = False
            if changed:
                report = poll_mailbox(mailbox_id=mailbox.id, settings=settings, engine=engine)
                # A periodic poll holds the mailbox: try again shortly, it may have missed this.
                busy = report.error == BUSY_ERROR
                if report.error and not busy:
                    raise MailboxConnectionError(report.error)
            # Short waits so that a stop request is honoured within a second.
            changed = folder.wait_for_change(timeout_seconds=1.0) or busy
