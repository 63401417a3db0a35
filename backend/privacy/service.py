"""Retention: the personal data of closed cases is removed once its time is over.

A case is anonymised, not deleted: its dates, channel, kind, mailbox, service, status and
reference stay, so the delays and every past indicator stay exactly as published. What goes:
the citizen's name, addresses and e-mail address, subjects, bodies, headers, attachments, the
letters' values and PDFs, the raw messages and outgoing mail in the file store.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, func, select, update

from backend.audit.service import record
from backend.calendar.months import months_after
from backend.config import Settings
from backend.database import in_list_chunks, session_scope
from backend.models import (
    Attachment,
    AuditEvent,
    Case,
    CaseKind,
    Letter,
    Message,
    OutboxEmail,
    UserSession,
)
from backend.storage.filestore import FileStore

RETENTION_ACTOR = "system:retention"
ANONYMISED_SUBJECT = "(données personnelles supprimées)"


@dataclass(slots=True)
class RetentionReport:
    """What a retention run removed, or would remove with --dry-run."""

    case_references: list[str] = field(default_factory=list)
    # Stored files no row refers to any more: deleted once the transaction is committed.
    files_to_delete: set[str] = field(default_factory=set)
    audit_events_deleted: int = 0
    sessions_deleted: int = 0


def cases_past_retention(session: Session, *, settings: Settings, now: datetime) -> list[Case]:
    """Closed cases, not yet anonymised, closed longer ago than their kind's period."""
    past_period = [
        sa.and_(
            col(Case.kind) == kind,
            col(Case.closed_at) <= _months_before(now, settings.retention.months_for(kind)),
        )
        for kind in CaseKind
    ]
    statement = (
        select(Case)
        .where(col(Case.anonymised_at).is_(None), col(Case.closed_at).is_not(None))
        .where(sa.or_(*past_period))
        .order_by(col(Case.id))
    )
    return list(session.exec(statement).all())


def apply_retention(
    session: Session, *, settings: Settings, now: datetime, dry_run: bool = False
) -> RetentionReport:
    """Anonymise the cases past retention and delete old audit events and ended sessions."""
    cases = cases_past_retention(session, settings=settings, now=now)
    audit_cutoff = _months_before(now, settings.retention.audit_months)
    old_events = col(AuditEvent.occurred_at) < audit_cutoff
    ended_sessions = col(UserSession.expires_at) < now - timedelta(days=1)
    report = RetentionReport(case_references=[case.reference for case in cases])
    if dry_run:
        report.audit_events_deleted = _count(session, AuditEvent, old_events)
        report.sessions_deleted = _count(session, UserSession, ended_sessions)
        return report
    report.files_to_delete = anonymise_cases(session, cases=cases, now=now)
    report.audit_events_deleted = _deleted(session, delete(AuditEvent).where(old_events))
    report.sessions_deleted = _deleted(session, delete(UserSession).where(ended_sessions))
    record(
        session,
        action="retention.applied",
        actor=None,
        actor_label=RETENTION_ACTOR,
        details={
            "cases": len(cases),
            "files": len(report.files_to_delete),
            "audit_events": report.audit_events_deleted,
            "sessions": report.sessions_deleted,
        },
    )
    return report


def anonymise_cases(session: Session, *, cases: Sequence[Case], now: datetime) -> set[str]:
    """Remove the personal data of these cases; the stored files nothing refers to any more."""
    digests: set[str] = set()
    for chunk in in_list_chunks([case.id for case in cases if case.id is not None]):
        digests |= _clear_messages(session, case_ids=chunk)
        digests |= _clear_letters_and_mail(session, case_ids=chunk)
        session.execute(
            update(Case)
            .where(col(Case.id).in_(chunk))
            .values(
                subject=ANONYMISED_SUBJECT,
                sender_name=None,
                sender_email=None,
                sender_postal_address=None,
                attention_reason=None,
                anonymised_at=now,
            )
        )
    session.flush()
    # The rows changed in bulk: loaded objects reload them when next read, not one by one now.
    for case in cases:
        session.expire(case)
    return unreferenced(session, digests=digests)


def _clear_messages(session: Session, *, case_ids: Sequence[int]) -> set[str]:
    """Empty the messages of these cases and delete their attachments; the files they held."""
    message_ids = select(Message.id).where(col(Message.case_id).in_(case_ids))
    attachments = col(Attachment.message_id).in_(message_ids)
    digests = set(session.exec(select(Attachment.sha256).where(attachments)).all())
    digests |= _digests(session, col(Message.raw_sha256), col(Message.case_id).in_(case_ids))
    session.execute(delete(Attachment).where(attachments))
    session.execute(
        update(Message)
        .where(col(Message.case_id).in_(case_ids))
        .values(
            subject=ANONYMISED_SUBJECT,
            from_name=None,
            from_address=None,
            to_addresses=[],
            cc_addresses=[],
            headers=[],
            body_text="",
            body_html=None,
            raw_sha256=None,
            parse_defects=[],
            parse_error=None,
        )
    )
    return digests


def _clear_letters_and_mail(session: Session, *, case_ids: Sequence[int]) -> set[str]:
    """Empty the letters and outgoing mail of these cases; the files they held."""
    digests = _digests(session, col(Letter.pdf_sha256), col(Letter.case_id).in_(case_ids))
    digests |= _digests(
        session, col(OutboxEmail.raw_sha256), col(OutboxEmail.case_id).in_(case_ids)
    )
    session.execute(
        update(Letter)
        .where(col(Letter.case_id).in_(case_ids))
        .values(variables={}, pdf_sha256=None, pdf_size=None)
    )
    session.execute(
        update(OutboxEmail)
        .where(col(OutboxEmail.case_id).in_(case_ids))
        .values(
            recipients=[],
            recipient="",
            subject=ANONYMISED_SUBJECT,
            raw_sha256=None,
            last_error=None,
        )
    )
    return digests


def delete_stored_files(*, digests: set[str], settings: Settings) -> int:
    """After the commit, delete the files still unreferenced; how many were deleted."""
    with session_scope() as session:
        # A message logged meanwhile may carry the same attachment: the store dedups files.
        digests = unreferenced(session, digests=digests)
    store = FileStore(settings.file_store_dir)
    return sum(store.delete(digest) for digest in digests)


def unreferenced(session: Session, *, digests: set[str]) -> set[str]:
    """The digests no row refers to (the same stored file may serve several rows)."""
    still_used: set[str] = set()
    for column in (
        col(Message.raw_sha256),
        col(Attachment.sha256),
        col(Letter.pdf_sha256),
        col(OutboxEmail.raw_sha256),
    ):
        for chunk in in_list_chunks(sorted(digests)):
            still_used |= _digests(session, column, column.in_(chunk))
    return digests - still_used


def _digests(session: Session, column: Any, where: Any) -> set[str]:
    rows = session.execute(sa.select(column).where(where, column.is_not(None)).distinct())
    return {row[0] for row in rows}


def _count(session: Session, model: type, where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(where)).one()


def _deleted(session: Session, statement: sa.Delete) -> int:
    return session.execute(statement).rowcount or 0  # type: ignore[attr-defined]


def _months_before(now: datetime, months: int) -> datetime:
    return datetime.combine(months_after(now.date(), -months), now.timetz())
