"""The nightly retention deletes the files only anonymised cases used, never a shared one."""

import hashlib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from sqlalchemy import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from backend.cli.main import app
from backend.config import Settings
from backend.database import session_scope
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.models import Attachment, Case, CaseStatus, Message
from backend.privacy.tasks import apply_retention_task
from backend.storage.filestore import FileStore
from tests.fixtures.mailboxes import ingest

SHARED_FORM = b"%PDF-1.4 formulaire cerfa vierge"


def test_files_of_anonymised_cases_go_and_shared_ones_stay(
    committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        mailbox = create_mailbox(
            session,
            mailbox_in=MailboxCreate(
                slug="contact",
                address="prefecture@gers.gouv.fr",
                imap_host="127.0.0.1",
                imap_username="contact",
                password_env="CONTACT_IMAP_PASSWORD",
            ),
        )
        for sender in ("ancien@example.org", "recent@example.org"):
            raw = _mail(sender=sender, own=f"pièce de {sender}".encode())
            ingest(session, mailbox, settings, raw, arrived=datetime.now(UTC))
        old, recent = session.exec(select(Case).order_by(col(Case.id))).all()
        # Closed three years ago: past the default 24 months.
        old.status, old.closed_at = CaseStatus.CLOSED, datetime.now(UTC) - timedelta(days=3 * 365)
        session.add(old)
    store = FileStore(settings.file_store_dir)
    files = _files_of(committed_engine)
    dry_run = CliRunner().invoke(app, ["retention", "--dry-run"])

    done = apply_retention_task()

    assert dry_run.exit_code == 0, dry_run.output
    assert f"1 dossiers seraient anonymisés.\n  {old.reference}\n" in dry_run.output
    assert done["cases"] == 1
    assert done["files"] == 2  # the old case's raw message and its own attachment
    assert not any(store.exists(digest) for digest in files[old.id] - files[recent.id])
    assert all(store.exists(digest) for digest in files[recent.id])
    # The blank form both citizens attached is stored once: the recent case still needs it.
    assert store.exists(hashlib.sha256(SHARED_FORM).hexdigest())


def _files_of(engine: Engine) -> dict[int | None, set[str]]:
    """Each case's stored files: raw messages and attachments."""
    files: dict[int | None, set[str]] = {}
    with session_scope(engine) as session:
        for message in session.exec(select(Message)).all():
            digests = files.setdefault(message.case_id, set())
            digests.add(message.raw_sha256 or "")
            digests |= set(
                session.exec(
                    select(Attachment.sha256).where(col(Attachment.message_id) == message.id)
                ).all()
            )
    return files


def _mail(*, sender: str, own: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "prefecture@gers.gouv.fr"
    message["Subject"] = "Ma demande"
    message["Message-ID"] = make_msgid(domain="example.org")
    message["Date"] = format_datetime(datetime.now(UTC))
    message.set_content("Bonjour, voici les pièces.")
    message.add_attachment(SHARED_FORM, maintype="application", subtype="pdf", filename="cerfa.pdf")
    message.add_attachment(own, maintype="application", subtype="pdf", filename="piece.pdf")
    return message.as_bytes(policy=SMTP)
