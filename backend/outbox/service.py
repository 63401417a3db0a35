"""Queueing outgoing e-mail: a row and its MIME bytes, in the transaction that decides to send."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from backend.database import in_list_chunks
from backend.mail.compose import OutgoingEmail, compose_email
from backend.models import OutboxEmail, OutboxPurpose, OutboxStatus
from backend.models.types import utc_now
from backend.storage.filestore import FileStore
from workers.enqueue import enqueue_after_commit

DELIVER_TASK = "qualipref.deliver_outbox_emails"


@dataclass(frozen=True, slots=True)
class EmailToQueue:
    """An e-mail to send, composed now, and the case it belongs to."""

    email: OutgoingEmail
    purpose: OutboxPurpose
    case_id: int | None


@dataclass(frozen=True, slots=True)
class EmailToCompose:
    """An e-mail its purpose's composer writes just before the first attempt."""

    purpose: OutboxPurpose
    case_id: int | None
    message_id: str  # chosen now, so that replies thread before it is even sent
    sender: str
    recipients: tuple[str, ...]


def queue_emails(
    session: Session, *, emails: Sequence[EmailToQueue], file_store: FileStore
) -> list[int]:
    """Store each e-mail's bytes, add its outbox row, and deliver once the transaction commits."""
    stored = file_store.put_many([compose_email(queued.email) for queued in emails])
    return _insert_and_deliver(
        session,
        rows=[
            _row_values(
                purpose=queued.purpose,
                case_id=queued.case_id,
                message_id=queued.email.message_id,
                sender=queued.email.sender.address,
                recipients=[recipient.address for recipient in queued.email.to],
                subject=queued.email.subject,
                raw_sha256=item.sha256,
            )
            for queued, item in zip(emails, stored, strict=True)
        ],
    )


def queue_emails_to_compose(session: Session, *, emails: Sequence[EmailToCompose]) -> list[int]:
    """Add rows whose bytes are composed at delivery; deliver once the transaction commits."""
    return _insert_and_deliver(
        session,
        rows=[
            _row_values(
                purpose=email.purpose,
                case_id=email.case_id,
                message_id=email.message_id,
                sender=email.sender,
                recipients=list(email.recipients),
                subject="",
                raw_sha256=None,
            )
            for email in emails
        ],
    )


def _insert_and_deliver(session: Session, *, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows; ask a worker to deliver them after the commit; their ids, in order."""
    if not rows:
        return []
    # One multi-row INSERT: a poll opening hundreds of cases queues hundreds of acknowledgements.
    session.execute(insert(OutboxEmail).execution_options(render_nulls=True), rows)
    outbox_ids = _ids_by_message_id(session, message_ids=[row["rfc_message_id"] for row in rows])
    enqueue_after_commit(session, task_name=DELIVER_TASK, kwargs={"outbox_ids": outbox_ids})
    return outbox_ids


def _row_values(
    *,
    purpose: OutboxPurpose,
    case_id: int | None,
    message_id: str,
    sender: str,
    recipients: list[str],
    subject: str,
    raw_sha256: str | None,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "message_id": None,
        "purpose": purpose,
        "rfc_message_id": message_id,
        "from_address": sender,
        "recipients": recipients,
        "recipient": recipients[0].lower() if recipients else "",
        "subject": subject,
        "raw_sha256": raw_sha256,
        "status": OutboxStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": None,
        "last_attempt_at": None,
        "transmission_started_at": None,
        "last_error": None,
        "sent_at": None,
        "created_at": utc_now(),
    }


def _ids_by_message_id(session: Session, *, message_ids: list[str]) -> list[int]:
    """The outbox ids of these Message-IDs, in the same order."""
    found: dict[str, int] = {}
    for chunk in in_list_chunks(message_ids):
        rows = session.exec(
            select(OutboxEmail.rfc_message_id, OutboxEmail.id).where(
                col(OutboxEmail.rfc_message_id).in_(chunk)
            )
        ).all()
        found.update((message_id, row_id) for message_id, row_id in rows if row_id is not None)
    return [found[message_id] for message_id in message_ids]


def requeue_email(session: Session, *, outbox_id: int) -> OutboxEmail:
    """A person asks for a failed or uncertain e-mail to be tried again now."""
    row = session.get(OutboxEmail, outbox_id)
    if row is None:
        raise LookupError(f"aucun courriel n° {outbox_id} dans la file d'envoi")
    if row.status not in {OutboxStatus.FAILED, OutboxStatus.UNCERTAIN, OutboxStatus.QUEUED}:
        raise ValueError(
            f"le courriel n° {outbox_id} est « {row.status.value} » : seul un courriel en échec "
            "ou incertain peut être renvoyé"
        )
    row.status = OutboxStatus.QUEUED
    row.next_attempt_at = None
    row.transmission_started_at = None
    session.add(row)
    enqueue_after_commit(session, task_name=DELIVER_TASK, kwargs={"outbox_ids": [outbox_id]})
    return row
