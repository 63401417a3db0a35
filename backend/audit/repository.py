"""Searching the audit trail."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from backend.models import AuditEvent, User


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What the search is narrowed to; None means any."""

    action: str | None = None
    actor_email: str | None = None
    case_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def search_events(
    session: Session, *, filters: AuditFilters, before_id: int | None, limit: int | None
) -> Sequence[AuditEvent]:
    """Events matching the filters, newest first, before an id (keyset pagination)."""
    query = select(AuditEvent).where(*_conditions(filters)).order_by(col(AuditEvent.id).desc())
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    if limit is not None:
        query = query.limit(limit)
    return session.exec(query).all()


def actor_emails(session: Session, *, user_ids: set[int]) -> dict[int, str]:
    """The e-mail address of each acting user."""
    rows = session.exec(select(User.id, User.email).where(col(User.id).in_(sorted(user_ids))))
    return {user_id: email for user_id, email in rows if user_id is not None}


def _conditions(filters: AuditFilters) -> list[Any]:
    conditions: list[Any] = []
    if filters.action:
        # "case." finds every action on cases.
        conditions.append(col(AuditEvent.action).startswith(filters.action))
    if filters.actor_email:
        actor = select(User.id).where(col(User.email) == filters.actor_email.strip().lower())
        conditions.append(col(AuditEvent.actor_user_id).in_(actor))
    if filters.case_id is not None:
        conditions.append(col(AuditEvent.case_id) == filters.case_id)
    if filters.since is not None:
        conditions.append(col(AuditEvent.occurred_at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(AuditEvent.occurred_at) < filters.until)
    return conditions
