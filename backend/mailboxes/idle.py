"""IMAP IDLE: one thread per mailbox waits for the server to announce mail, then polls."""

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine

from backend.config import Settings
from backend.database import session_scope
from backend.mailboxes.imap import MailboxConnectionError, open_folder
from backend.mailboxes.polling import BUSY_ERROR, poll_mailbox
from backend.mailboxes.service import imap_settings_for, mailboxes_to_watch
from backend.models import Mailbox

logger = logging.getLogger(__name__)

# RFC 2177: re-issue IDLE before servers drop it (29 min); shorter keeps NAT mappings alive.
IDLE_RENEW_SECONDS = 300.0
RETRY_MIN_SECONDS = 2.0
# How often the supervisor looks for mailboxes added, disabled or reconfigured.
RESCAN_SECONDS = 30.0


@dataclass
class _Watcher:
    thread: threading.Thread
    stop: threading.Event
    # The connection settings it was started with: a change restarts it.
    connection: tuple[object, ...]


@dataclass
class IdleSupervisor:
    """Keeps one IDLE watcher per enabled mailbox (or the one named) as mailboxes change."""

    settings: Settings
    engine: Engine
    slug: str | None = None
    watchers: dict[int, _Watcher] = field(default_factory=dict)

    def run(self, *, stop: threading.Event, rescan_seconds: float = RESCAN_SECONDS) -> None:
        """Watch until stop is set, looking at the mailboxes again every rescan_seconds."""
        try:
            while not stop.is_set():
                self.rescan()
                stop.wait(rescan_seconds)
        finally:
            self.stop_all()

    def rescan(self) -> None:
        """Start watchers for new mailboxes, stop those of removed or changed ones."""
        with session_scope(self.engine) as session:
            mailboxes = mailboxes_to_watch(session, slug=self.slug)
        wanted = {mailbox.id: mailbox for mailbox in mailboxes if mailbox.id is not None}
        for mailbox_id, watcher in list(self.watchers.items()):
            mailbox = wanted.get(mailbox_id)
            alive = watcher.thread.is_alive()
            if mailbox is None or not alive or _connection(mailbox) != watcher.connection:
                self._stop(mailbox_id)
        for mailbox_id, mailbox in wanted.items():
            if mailbox_id not in self.watchers:
                self.watchers[mailbox_id] = self._start(mailbox)

    def stop_all(self) -> None:
        """Stop every watcher and wait for it."""
        for mailbox_id in list(self.watchers):
            self._stop(mailbox_id)

    def _start(self, mailbox: Mailbox) -> _Watcher:
        stop = threading.Event()
        thread = threading.Thread(
            target=watch_mailbox,
            kwargs={
                "mailbox": mailbox,
                "settings": self.settings,
                "engine": self.engine,
                "stop": stop,
            },
            name=f"idle-{mailbox.slug}",
            daemon=True,
        )
        thread.start()
        logger.info("IDLE: watching %s", mailbox.slug)
        return _Watcher(thread=thread, stop=stop, connection=_connection(mailbox))

    def _stop(self, mailbox_id: int) -> None:
        watcher = self.watchers.pop(mailbox_id)
        watcher.stop.set()
        watcher.thread.join(timeout=15)


def _connection(mailbox: Mailbox) -> tuple[object, ...]:
    return (
        mailbox.imap_host,
        mailbox.imap_port,
        mailbox.imap_tls,
        mailbox.imap_username,
        mailbox.password_env,
        mailbox.folder,
    )


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
