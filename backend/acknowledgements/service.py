"""Deciding and queueing the acknowledgements of the cases a batch of mail opens.

Both steps run inside the transaction that logs the batch: a case never exists without its
decision, and an acknowledgement is queued only if its case is committed.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.acknowledgements.rules import MailboxRules, OwnAddresses, skip_reason
from backend.config import Settings
from backend.database import in_list_chunks
from backend.mail.compose import new_message_id
from backend.mail.incoming import IncomingMessage
from backend.models import Mailbox, OutboxEmail, OutboxPurpose, Service
from backend.models.types import utc_now
from backend.outbox.service import EmailToCompose, queue_emails_to_compose

MAX_REASON_LENGTH = 200


@dataclass(frozen=True, slots=True)
class NewCase:
    """A case a batch opened, to acknowledge, and the address the acknowledgement goes to."""

    case_id: int
    recipient: str


def plan_acknowledgements(
    session: Session,
    *,
    mailbox: Mailbox,
    openers: Sequence[IncomingMessage],
    settings: Settings,
) -> list[str | None]:
    """For each opener, in order, why it gets no acknowledgement (None: it gets one)."""
    own = own_addresses(session, settings=settings)
    rules = MailboxRules(auto_reply=mailbox.auto_reply, start_date=mailbox.start_date)
    recently = _recent_counts(session, openers=openers, since=utc_now() - timedelta(days=1))
    reasons: list[str | None] = []
    for opener in openers:
        parsed = opener.parsed
        address = opener.reply_address.lower() if opener.reply_address else None
        reason = skip_reason(
            parsed=parsed,
            received_on=settings.local_date(opener.received_at),
            mailbox=rules,
            own=own,
            sent_recently=recently.get(address, 0) if address else 0,
            limit_per_day=settings.acknowledgement_limit_per_day,
        )
        if reason is None and address is not None:
            recently[address] = recently.get(address, 0) + 1
        reasons.append(None if reason is None else reason[:MAX_REASON_LENGTH])
    return reasons


def queue_acknowledgements(session: Session, *, mailbox: Mailbox, cases: Sequence[NewCase]) -> None:
    """Queue each case's acknowledgement; the worker renders it just before sending."""
    queue_emails_to_compose(
        session,
        emails=[
            EmailToCompose(
                purpose=OutboxPurpose.ACKNOWLEDGEMENT,
                case_id=case.case_id,
                message_id=new_message_id(sender_address=mailbox.address),
                sender=mailbox.address,
                recipients=(case.recipient,),
            )
            for case in cases
        ],
    )


def own_addresses(session: Session, *, settings: Settings) -> OwnAddresses:
    """Every mailbox and service address, the préfecture's, and its mail domains."""
    addresses = {settings.prefecture.email}
    addresses.update(session.exec(select(Mailbox.address)).all())
    addresses.update(email for email in session.exec(select(Service.email)).all() if email)
    return OwnAddresses(
        addresses=frozenset(address.lower() for address in addresses),
        domains=settings.own_domains,
    )


def _recent_counts(
    session: Session, *, openers: Sequence[IncomingMessage], since: datetime
) -> dict[str, int]:
    """Acknowledgements queued per address since then, for the openers' addresses."""
    addresses = sorted({opener.reply_address.lower() for opener in openers if opener.reply_address})
    counts: dict[str, int] = {}
    for chunk in in_list_chunks(addresses):
        rows = session.exec(
            select(OutboxEmail.recipient, func.count())
            .where(col(OutboxEmail.purpose) == OutboxPurpose.ACKNOWLEDGEMENT)
            .where(col(OutboxEmail.recipient).in_(chunk))
            .where(col(OutboxEmail.created_at) >= since)
            .group_by(col(OutboxEmail.recipient))
        ).all()
        counts.update((recipient, count) for recipient, count in rows)
    return counts
