"""One pass over a mailbox: fetch new UIDs in batches, log them, commit with the last UID."""

import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, select

from backend.cases.ingestion import IngestOutcome, log_incoming_messages
from backend.config import Settings
from backend.database import get_engine, session_scope
from backend.mail.incoming import ImapPosition, RawIncoming
from backend.mail.parser import parse_message
from backend.mailboxes.imap import ImapFolder, MailboxConnectionError, open_folder
from backend.mailboxes.pipeline import PreparedBatch, Preparer, preparer
from backend.mailboxes.service import (
    imap_settings_for,
    mailboxes_to_watch,
    record_poll_failure,
    record_poll_success,
    release_poll_lease,
    take_poll_lease,
)
from backend.models import Mailbox, MailboxSyncState
from backend.storage.filestore import FileStore

logger = logging.getLogger(__name__)

BUSY_ERROR = "Relève déjà en cours par un autre processus."
# Batches fetched and being prepared while the oldest is logged: enough to keep the
# preparing processes busy, few enough to bound memory (batches of imap_batch_size).
BATCHES_AHEAD = 2

T = TypeVar("T")


class PollInterruptedError(Exception):
    """Another poller took over this mailbox mid-pass; stop without committing more."""


@dataclass
class PollReport:
    """What one pass over one mailbox did."""

    slug: str
    fetched: int = 0
    new_messages: int = 0
    new_cases: int = 0
    duplicates: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The report as the JSON output and the API show it."""
        return asdict(self)


def poll_all_mailboxes(
    *, settings: Settings, slug: str | None = None, engine: Engine | None = None
) -> list[PollReport]:
    """Poll each enabled mailbox (or the one named) in turn; one failing never stops the others."""
    engine = engine or get_engine()
    with session_scope(engine) as session:
        mailboxes = mailboxes_to_watch(session, slug=slug)
    reports = []
    for mailbox in mailboxes:
        assert mailbox.id is not None
        try:
            reports.append(poll_mailbox(mailbox_id=mailbox.id, settings=settings, engine=engine))
        except Exception as error:
            logger.exception("polling mailbox %s failed", mailbox.slug)
            reports.append(PollReport(slug=mailbox.slug, error=f"Erreur interne : {error}"))
    return reports


def poll_mailbox(
    *, mailbox_id: int, settings: Settings, engine: Engine | None = None
) -> PollReport:
    """Fetch and log every new message of one mailbox, holding its lease throughout."""
    engine = engine or get_engine()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as session:
        mailbox = _load(session, mailbox_id=mailbox_id)
        report = PollReport(slug=mailbox.slug)
        if not take_poll_lease(
            session,
            mailbox_id=mailbox_id,
            owner=owner,
            duration_seconds=settings.poll_lease_seconds,
        ):
            report.error = BUSY_ERROR
            return report
    try:
        _poll_folder(mailbox=mailbox, settings=settings, engine=engine, owner=owner, report=report)
    except (MailboxConnectionError, PollInterruptedError) as error:
        report.error = str(error)
    except Exception as error:
        logger.exception("polling mailbox %s failed", report.slug)
        report.error = f"Erreur interne : {type(error).__name__}: {error}"
    finally:
        _finish(engine=engine, mailbox_id=mailbox_id, owner=owner, report=report, settings=settings)
    return report


def _load(session: Session, *, mailbox_id: int) -> Mailbox:
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise LookupError(f"no mailbox with id {mailbox_id}")
    session.expunge(mailbox)
    return mailbox


def _poll_folder(
    *, mailbox: Mailbox, settings: Settings, engine: Engine, owner: str, report: PollReport
) -> None:
    imap_settings = imap_settings_for(mailbox, settings=settings)
    writable = mailbox.mark_seen or bool(mailbox.move_to_folder)
    with open_folder(imap_settings, writable=writable) as folder:
        uidvalidity = folder.status.uidvalidity
        last_uid = _last_uid(engine=engine, mailbox=mailbox, uidvalidity=uidvalidity)
        since = None if mailbox.import_before_start_date else mailbox.start_date
        uids = folder.uids_after(last_uid, since=since)
        context = _BatchContext(mailbox, settings, engine, owner, uidvalidity)
        with preparer(
            file_store=FileStore(settings.file_store_dir),
            message_count=len(uids),
            processes=settings.ingest_processes,
            parse=parse_message,
        ) as prepare:
            fetched = (
                _fetch_batch(folder, batch=batch, context=context, prepare=prepare, report=report)
                for batch in _batches(uids, size=settings.imap_batch_size)
            )
            # Later batches are fetched and prepared while earlier ones are logged, in order.
            for batch in _read_ahead(fetched, depth=BATCHES_AHEAD):
                last_uid = _log_batch(
                    batch, folder=folder, context=context, last_uid=last_uid, report=report
                )


def _batches(uids: Sequence[int], *, size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def _read_ahead(items: Iterator[T], *, depth: int) -> Iterator[T]:
    """The items in order, each yielded once the next `depth` ones have been started."""
    pending: deque[T] = deque()
    for item in items:
        pending.append(item)
        if len(pending) > depth:
            yield pending.popleft()
    yield from pending


@dataclass(frozen=True, slots=True)
class _BatchContext:
    mailbox: Mailbox
    settings: Settings
    engine: Engine
    owner: str
    uidvalidity: int


@dataclass(frozen=True, slots=True)
class _FetchedBatch:
    """A batch fetched from the server, being prepared."""

    uids: Sequence[int]
    fetched_uids: list[int]
    prepared: PreparedBatch


def _fetch_batch(
    folder: ImapFolder,
    *,
    batch: Sequence[int],
    context: _BatchContext,
    prepare: Preparer,
    report: PollReport,
) -> _FetchedBatch:
    """Fetch a batch and start preparing it (parsing, storing)."""
    fetched = folder.fetch(batch)
    report.fetched += len(fetched)
    raws = [
        RawIncoming(
            raw=message.raw,
            internal_date=message.internal_date,
            imap_position=ImapPosition(
                folder=folder.settings.folder, uidvalidity=context.uidvalidity, uid=message.uid
            ),
        )
        for message in fetched
    ]
    return _FetchedBatch(
        uids=batch,
        fetched_uids=[message.uid for message in fetched],
        prepared=prepare(raws),
    )


def _log_batch(
    batch: _FetchedBatch,
    *,
    folder: ImapFolder,
    context: _BatchContext,
    last_uid: int,
    report: PollReport,
) -> int:
    """Log a prepared batch and commit it with the new last UID; that UID."""
    prepared = batch.prepared.result()
    new_last_uid = max(batch.uids)
    with session_scope(context.engine) as session:
        _claim_batch(session, context=context, expected_last_uid=last_uid)
        outcomes = log_incoming_messages(
            session, mailbox=context.mailbox, messages=prepared, settings=context.settings
        )
        for outcome in outcomes:
            _count(report, outcome)
        _save_last_uid(session, context=context, last_uid=new_last_uid)
    _after_commit(folder=folder, mailbox=context.mailbox, uids=batch.fetched_uids)
    return new_last_uid


def _last_uid(*, engine: Engine, mailbox: Mailbox, uidvalidity: int) -> int:
    """Where the last pass stopped; zero when the folder is new or its UIDVALIDITY changed."""
    assert mailbox.id is not None
    with session_scope(engine) as session:
        state = _sync_state(session, mailbox_id=mailbox.id, folder=mailbox.folder)
        if state is None:
            session.add(
                MailboxSyncState(
                    mailbox_id=mailbox.id, folder=mailbox.folder, uidvalidity=uidvalidity
                )
            )
            return 0
        if state.uidvalidity != uidvalidity:
            # Every UID changed meaning: re-scan the folder; content dedup skips what is logged.
            logger.warning(
                "mailbox %s: UIDVALIDITY changed from %s to %s, re-scanning",
                mailbox.slug,
                state.uidvalidity,
                uidvalidity,
            )
            state.uidvalidity = uidvalidity
            state.last_uid = 0
            state.updated_at = datetime.now(UTC)
            session.add(state)
        return state.last_uid


def _sync_state(
    session: Session, *, mailbox_id: int | None, folder: str, for_update: bool = False
) -> MailboxSyncState | None:
    statement = select(MailboxSyncState).where(
        MailboxSyncState.mailbox_id == mailbox_id, MailboxSyncState.folder == folder
    )
    if for_update:
        statement = statement.with_for_update()
    return session.exec(statement).first()


def _claim_batch(session: Session, *, context: _BatchContext, expected_last_uid: int) -> None:
    """Renew the lease and check nobody else moved this folder on since we read it."""
    assert context.mailbox.id is not None
    if not take_poll_lease(
        session,
        mailbox_id=context.mailbox.id,
        owner=context.owner,
        duration_seconds=context.settings.poll_lease_seconds,
    ):
        raise PollInterruptedError(BUSY_ERROR)
    state = _sync_state(
        session, mailbox_id=context.mailbox.id, folder=context.mailbox.folder, for_update=True
    )
    if state is None or (state.uidvalidity, state.last_uid) != (
        context.uidvalidity,
        expected_last_uid,
    ):
        raise PollInterruptedError("L'état de synchronisation a changé pendant la relève.")


def _save_last_uid(session: Session, *, context: _BatchContext, last_uid: int) -> None:
    state = _sync_state(session, mailbox_id=context.mailbox.id, folder=context.mailbox.folder)
    assert state is not None
    state.last_uid = last_uid
    state.updated_at = datetime.now(UTC)
    session.add(state)


def _count(report: PollReport, outcome: IngestOutcome) -> None:
    if outcome is IngestOutcome.DUPLICATE:
        report.duplicates += 1
        return
    report.new_messages += 1
    if outcome is IngestOutcome.NEW_CASE:
        report.new_cases += 1


def _after_commit(*, folder: ImapFolder, mailbox: Mailbox, uids: list[int]) -> None:
    """Optional server-side marks, only once the messages are safely logged."""
    if mailbox.mark_seen:
        folder.mark_seen(uids)
    if mailbox.move_to_folder:
        folder.move(uids, folder=mailbox.move_to_folder)


def _finish(
    *, engine: Engine, mailbox_id: int, owner: str, report: PollReport, settings: Settings
) -> None:
    """Record how the pass went on the mailbox row and give the lease back."""
    with session_scope(engine) as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        if report.error is None:
            record_poll_success(session, mailbox=mailbox)
        elif report.error != BUSY_ERROR:
            record_poll_failure(
                session,
                mailbox=mailbox,
                error=report.error,
                backoff_max_seconds=settings.poll_backoff_max_seconds,
            )
        release_poll_lease(session, mailbox_id=mailbox_id, owner=owner)
