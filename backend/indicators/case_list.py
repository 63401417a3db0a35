"""The cases behind a figure of one month, without a word of personal data: what the quality
manager reads across services (reference, dates, channel, kind, service, delay)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.cases.due_dates import target_days
from backend.cases.repository import waiting_days
from backend.indicators.delays import CaseDays, DelayRules, case_delay
from backend.indicators.queries import Month, answer_on, resolved_on
from backend.indicators.schemas import FigureCasePublic
from backend.models import Case, CaseChannel, CaseKind


class Measure(StrEnum):
    """Which cases of the month: received in it, answered in it, or open at its end."""

    RECEIVED = "received"
    ANSWERED = "answered"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class FigureFilters:
    """The group of the figure; None means any."""

    channel: CaseChannel | None = None
    kind: CaseKind | None = None
    mailbox_id: int | None = None
    service_id: int | None = None


def figure_cases(
    session: Session,
    *,
    month: Month,
    measure: Measure,
    filters: FigureFilters,
    rules: DelayRules,
    after_id: int | None,
    limit: int,
) -> list[FigureCasePublic]:
    """A page of the cases counted by the figure, by id; delays as the indicators count them."""
    statement = (
        select(Case)
        .where(col(Case.merged_into_id).is_(None), _measured(measure, month=month, rules=rules))
        .where(*_filtered(filters))
        .order_by(col(Case.id))
        .limit(limit)
    )
    if after_id is not None:
        statement = statement.where(col(Case.id) > after_id)
    cases = session.exec(statement).all()
    waits = waiting_days(session, case_ids=[case.id for case in cases if case.id is not None])
    return [
        _row(case, waits=waits.get(case.id or 0, []), rules=rules, end=month.last_day)
        for case in cases
    ]


def _measured(measure: Measure, *, month: Month, rules: DelayRules) -> Any:
    if measure is Measure.RECEIVED:
        return col(Case.received_on).between(month.first_day, month.last_day)
    if measure is Measure.ANSWERED:
        return answer_on(rules).between(month.first_day, month.last_day)
    resolved = resolved_on(rules)
    still_open = sa.or_(resolved.is_(None), resolved > month.last_day)
    return sa.and_(col(Case.received_on) <= month.last_day, still_open)


def _filtered(filters: FigureFilters) -> list[Any]:
    equal = {
        Case.channel: filters.channel,
        Case.kind: filters.kind,
        Case.mailbox_id: filters.mailbox_id,
        Case.service_id: filters.service_id,
    }
    return [col(column) == value for column, value in equal.items() if value is not None]


def _row(case: Case, *, waits: Sequence[Any], rules: DelayRules, end: date) -> FigureCasePublic:
    assert case.id is not None
    days = CaseDays(case.received_on, case.answered_on, case.holding_reply_on, waits)
    if case.answered_on is not None and case.answered_on > end:
        # Open at the month's end: its delay so far, as the backlog sees it then.
        days = CaseDays(case.received_on, None, None, waits)
    delay = case_delay(days, rules=rules, today=end)
    target = target_days(channel=case.channel, kind=case.kind, targets=rules.targets)
    return FigureCasePublic(
        id=case.id,
        reference=case.reference,
        channel=case.channel,
        kind=case.kind,
        mailbox_id=case.mailbox_id,
        service_id=case.service_id,
        received_on=case.received_on,
        answered_on=case.answered_on,
        closed_on=case.closed_on,
        due_date=case.due_date,
        delay=delay,
        target=target,
        within_target=None if delay is None else delay <= target,
    )
