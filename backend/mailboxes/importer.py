"""History import: last year's mail from an mbox file, a Maildir or a folder of .eml files."""

import mailbox as mailbox_formats
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from backend.cases.ingestion import IngestOutcome, log_incoming_messages
from backend.config import Settings
from backend.database import session_scope
from backend.mail.incoming import RawIncoming, prepare_incoming
from backend.mailboxes.service import get_mailbox
from backend.storage.filestore import FileStore

IMPORT_BATCH_SIZE = 200


class ImportSourceError(ValueError):
    """The path is no mbox file, Maildir or folder of .eml files."""


@dataclass
class ImportReport:
    """What an import did; running it twice gives only duplicates the second time."""

    read: int = 0
    new_messages: int = 0
    new_cases: int = 0
    duplicates: int = 0
    unreadable: int = 0


def count_messages(path: Path) -> int:
    """How many messages the source holds (for the progress bar)."""
    return sum(1 for _ in _raw_messages(path))


def import_history(
    *,
    path: Path,
    slug: str,
    settings: Settings,
    engine: Engine,
    on_progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Log every message of the source into the mailbox, received_at from each message."""
    file_store = FileStore(settings.file_store_dir)
    report = ImportReport()
    batch: list[bytes] = []
    for raw in _raw_messages(path):
        batch.append(raw)
        if len(batch) == IMPORT_BATCH_SIZE:
            _import_batch(
                batch,
                slug=slug,
                settings=settings,
                engine=engine,
                report=report,
                file_store=file_store,
            )
            on_progress(len(batch))
            batch = []
    if batch:
        _import_batch(
            batch, slug=slug, settings=settings, engine=engine, report=report, file_store=file_store
        )
        on_progress(len(batch))
    return report


def _import_batch(
    batch: list[bytes],
    *,
    slug: str,
    settings: Settings,
    engine: Engine,
    report: ImportReport,
    file_store: FileStore,
) -> None:
    prepared = prepare_incoming([RawIncoming(raw=raw) for raw in batch], file_store=file_store)
    with session_scope(engine) as session:
        mailbox = get_mailbox(session, slug=slug)
        outcomes = log_incoming_messages(
            session, mailbox=mailbox, messages=prepared, settings=settings
        )
        for incoming, outcome in zip(prepared, outcomes, strict=True):
            report.read += 1
            report.unreadable += incoming.parsed is None
            if outcome is IngestOutcome.DUPLICATE:
                report.duplicates += 1
            else:
                report.new_messages += 1
                report.new_cases += outcome is IngestOutcome.NEW_CASE


def _raw_messages(path: Path) -> Iterator[bytes]:
    """The raw bytes of each message, in a stable order."""
    if path.is_dir() and (path / "cur").is_dir():
        maildir = mailbox_formats.Maildir(path, factory=None, create=False)
        for key in sorted(maildir.keys()):
            yield maildir.get_bytes(key)
    elif path.is_dir():
        for file in sorted(path.rglob("*.eml")):
            yield file.read_bytes()
    elif path.is_file():
        mbox = mailbox_formats.mbox(path, factory=None, create=False)
        for key in mbox.iterkeys():
            yield mbox.get_bytes(key)
    else:
        raise ImportSourceError(
            f"{path} n'est ni un fichier mbox, ni un Maildir, ni un dossier de fichiers .eml."
        )
