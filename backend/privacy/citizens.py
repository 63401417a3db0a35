"""Citizens' rights (RGPD articles 15 and 17): everything held about one e-mail address, as a
zip archive, and its erasure by the same anonymisation as retention."""

import io
import json
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.models import Attachment, Case, Letter, Message, OutboxEmail
from backend.storage.filestore import FileNotInStoreError, FileStore

CASE_FIELDS = {
    "reference",
    "channel",
    "kind",
    "status",
    "subject",
    "sender_name",
    "sender_email",
    "sender_postal_address",
    "received_at",
    "answered_at",
    "closed_at",
    "anonymised_at",
}
MESSAGE_FIELDS = {
    "direction",
    "subject",
    "from_name",
    "from_address",
    "to_addresses",
    "cc_addresses",
    "received_at",
    "body_text",
}


def citizen_cases(session: Session, *, email: str) -> list[Case]:
    """The cases this address wrote or was written about, in order of receipt."""
    address = email.strip().lower()
    wrote = select(Message.case_id).where(func.lower(col(Message.from_address)) == address)
    statement = (
        select(Case)
        .where(sa.or_(func.lower(col(Case.sender_email)) == address, col(Case.id).in_(wrote)))
        .order_by(col(Case.received_at), col(Case.id))
    )
    return list(session.exec(statement).all())


def citizen_archive(session: Session, *, cases: Sequence[Case], store: FileStore) -> bytes:
    """A zip of the cases as JSON, with the raw messages, attachments and letters' PDFs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        described = [_case_data(session, case=case, archive=archive, store=store) for case in cases]
        archive.writestr(
            "donnees.json",
            json.dumps({"dossiers": described}, ensure_ascii=False, indent=2, default=_json),
        )
    return buffer.getvalue()


def _case_data(
    session: Session, *, case: Case, archive: zipfile.ZipFile, store: FileStore
) -> dict[str, Any]:
    folder = case.reference
    messages = session.exec(
        select(Message).where(col(Message.case_id) == case.id).order_by(col(Message.received_at))
    ).all()
    letters = session.exec(select(Letter).where(col(Letter.case_id) == case.id)).all()
    outbox = session.exec(select(OutboxEmail).where(col(OutboxEmail.case_id) == case.id)).all()
    return {
        **case.model_dump(include=CASE_FIELDS),
        "messages": [
            _message_data(session, message=message, folder=folder, archive=archive, store=store)
            for message in messages
        ],
        "courriers": [
            {
                **letter.model_dump(include={"template_name", "variables", "sent_at"}),
                "fichier": _add(
                    archive, store, letter.pdf_sha256, f"{folder}/lettre-{letter.id}.pdf"
                ),
            }
            for letter in letters
        ],
        "courriels_envoyes": [
            email.model_dump(include={"recipients", "subject", "purpose", "status", "sent_at"})
            for email in outbox
        ],
    }


def _message_data(
    session: Session,
    *,
    message: Message,
    folder: str,
    archive: zipfile.ZipFile,
    store: FileStore,
) -> dict[str, Any]:
    attachments = session.exec(
        select(Attachment)
        .where(col(Attachment.message_id) == message.id)
        .order_by(col(Attachment.position))
    ).all()
    return {
        **message.model_dump(include=MESSAGE_FIELDS),
        "fichier": _add(archive, store, message.raw_sha256, f"{folder}/message-{message.id}.eml"),
        "pieces_jointes": [
            {
                "nom": attachment.filename,
                "type": attachment.content_type,
                "taille": attachment.size,
                "fichier": _add(
                    archive,
                    store,
                    attachment.sha256,
                    f"{folder}/piece-{attachment.id}-{_safe(attachment.filename)}",
                ),
            }
            for attachment in attachments
        ],
    }


def _add(archive: zipfile.ZipFile, store: FileStore, digest: str | None, name: str) -> str | None:
    """Put a stored file in the archive; its name there, None when there is no such file."""
    if digest is None:
        return None
    try:
        archive.writestr(name, store.read_bytes(digest))
    except FileNotInStoreError:
        return None
    return name


def _safe(filename: str | None) -> str:
    """A file name that cannot climb out of its folder in the archive."""
    name = (filename or "sans-nom").replace("/", "_").replace("\\", "_")
    return name.lstrip(".") or "sans-nom"


def _json(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
