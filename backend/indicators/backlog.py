"""The backlog now, per service: cases open today, of which overdue, and the oldest.

"Open" is the indicators' own definition (neither answered nor closed without an answer, a
holding reply counting as the answer when the préfecture says so); a case is overdue once its
due date is over, as the inbox's overdue filter has it.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.indicators.delays import DelayRules
from backend.indicators.queries import resolved_on
from backend.models import Case, Service


@dataclass(frozen=True, slots=True)
class ServiceBacklog:
    """The open cases of one service (None: owned by no service yet)."""

    service_id: int | None
    service: str | None
    open_cases: int
    overdue: int
    oldest_received_on: date
    # Working days from the oldest open case's receipt to today.
    oldest_age: int


def backlog_by_service(session: Session, *, rules: DelayRules, today: date) -> list[ServiceBacklog]:
    """One grouped count over the open cases; services by name, the unowned ones last."""
    overdue = sa.case((col(Case.due_date) < today, 1), else_=0)
    statement = (
        select(
            col(Case.service_id),
            func.count(),
            func.sum(overdue),
            func.min(col(Case.received_on)),
        )
        .where(
            col(Case.merged_into_id).is_(None),
            col(Case.received_on) <= today,
            resolved_on(rules).is_(None),
        )
        .group_by(col(Case.service_id))
    )
    rows = session.exec(statement).all()
    names = {row[0]: row[1] for row in session.exec(select(Service.id, Service.name))}
    backlog = [
        ServiceBacklog(
            service_id=service_id,
            service=names.get(service_id) if service_id is not None else None,
            open_cases=int(count),
            overdue=int(late or 0),
            oldest_received_on=oldest,
            oldest_age=rules.calendar.delay(received=oldest, answered=today),
        )
        for service_id, count, late, oldest in rows
    ]
    return sorted(backlog, key=lambda entry: (entry.service is None, entry.service or ""))
