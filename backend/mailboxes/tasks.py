"""Celery tasks: beat asks for a pass over the due mailboxes, one task per mailbox."""

from datetime import UTC, datetime
from typing import Any

from celery import shared_task
from sqlmodel import col, or_, select

from backend.config import get_settings
from backend.database import session_scope
from backend.mailboxes.polling import poll_mailbox
from backend.models import Mailbox


@shared_task(name="qualipref.poll_due_mailboxes")
def poll_due_mailboxes() -> list[int]:
    """Queue one poll per enabled mailbox that is not waiting out a failure backoff."""
    settings = get_settings()
    now = datetime.now(UTC)
    with session_scope() as session:
        due = session.exec(
            select(Mailbox.id)
            .where(col(Mailbox.enabled).is_(True))
            .where(or_(col(Mailbox.next_poll_at).is_(None), col(Mailbox.next_poll_at) <= now))
            .order_by(col(Mailbox.id))
        ).all()
    mailbox_ids = [mailbox_id for mailbox_id in due if mailbox_id is not None]
    for mailbox_id in mailbox_ids:
        # A poll not started before the next round is superseded by that round's.
        poll_mailbox_task.apply_async(
            kwargs={"mailbox_id": mailbox_id}, expires=settings.poll_interval_seconds
        )
    return mailbox_ids


@shared_task(name="qualipref.poll_mailbox")
def poll_mailbox_task(mailbox_id: int) -> dict[str, Any]:
    """Fetch and log the new mail of one mailbox; its lease keeps other workers off it."""
    return poll_mailbox(mailbox_id=mailbox_id, settings=get_settings()).as_dict()
