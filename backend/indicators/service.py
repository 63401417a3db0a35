"""Indicators for a period and a grouping: the three aggregate queries, merged per group."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, func, select

from backend.config import Settings
from backend.indicators.cache import month_rows
from backend.indicators.calendar_days import ensure_calendar_days
from backend.indicators.delays import DelayRules
from backend.indicators.queries import (
    AnsweredRow,
    Dimension,
    Month,
    Scope,
)
from backend.models import Case, CaseChannel, CaseKind, Mailbox, Service

HUNDRED = Decimal(100)


@dataclass(slots=True)
class IndicatorGroup:
    """The figures of one month and one group (its dimensions None when not grouped by)."""

    month: str
    channel: CaseChannel | None = None
    kind: CaseKind | None = None
    mailbox_id: int | None = None
    service_id: int | None = None
    mailbox: str | None = None  # the mailbox's slug
    service: str | None = None  # the service's name
    received: int = 0
    answered: int = 0
    delay_total: int = 0
    within_target: int = 0
    median_delay: Decimal | None = None
    p90_delay: Decimal | None = None
    max_delay: int | None = None
    open_at_end: int = 0
    past_due_at_end: int = 0
    oldest_open_received_on: date | None = None
    # Working days from the oldest open case's receipt to the month's last day.
    oldest_open_age: int | None = None

    @property
    def average_delay(self) -> Decimal | None:
        """Mean delay of the month's answers; None when nothing was answered."""
        return ratio(self.delay_total, self.answered)

    @property
    def within_target_rate(self) -> Decimal | None:
        """Percentage of the month's answers within their target; None without answers."""
        rate = ratio(self.within_target, self.answered)
        return None if rate is None else rate * HUNDRED


@dataclass(frozen=True, slots=True)
class IndicatorRequest:
    """The months to report and what to group them by."""

    months: Sequence[Month]
    dimensions: Sequence[Dimension] = field(default_factory=tuple)


def compute_indicators(
    session: Session, *, request: IndicatorRequest, settings: Settings, today: date | None = None
) -> list[IndicatorGroup]:
    """Every month of the period for every group seen in it, in month then group order.

    The months over before today are read from the cache when nothing has changed them.
    """
    rules = DelayRules.from_settings(settings)
    if session.get_bind().dialect.name == "postgresql":
        # A few aggregate queries over a million rows cost just under JIT's thresholds, where
        # compiling takes longer than it saves.
        session.execute(text("SET LOCAL jit = off"))
    key = ensure_calendar_days(
        session,
        calendar=rules.calendar,
        first=_earliest_day(session),
        last=request.months[-1].last_day,
    )
    scope = Scope(
        months=request.months, dimensions=request.dimensions, rules=rules, calendar_key=key
    )
    groups: dict[tuple[Any, ...], IndicatorGroup] = {}

    def group(row_key: tuple[Any, ...]) -> IndicatorGroup:
        if row_key not in groups:
            groups[row_key] = _empty_group(row_key, dimensions=request.dimensions)
        return groups[row_key]

    rows = month_rows(session, scope=scope, today=today or settings.today())
    for row_key, received in rows.received.items():
        group(row_key).received = received
    for answered in rows.answered:
        _fill_answers(group(answered.key), answered)
    for open_row in rows.backlog:
        entry = group(open_row.key)
        entry.open_at_end = open_row.open_cases
        entry.past_due_at_end = open_row.past_due
        entry.oldest_open_received_on = open_row.oldest_received_on
        entry.oldest_open_age = rules.calendar.delay(
            received=open_row.oldest_received_on,
            answered=_month(request.months, entry.month).last_day,
        )
    _add_empty_months(groups, request=request)
    _name_groups(session, list(groups.values()))
    return sorted(groups.values(), key=_order)


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator, None for an empty denominator."""
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def _fill_answers(entry: IndicatorGroup, row: AnsweredRow) -> None:
    entry.answered = row.answered
    entry.delay_total = row.delay_total
    entry.within_target = row.within_target
    entry.max_delay = row.max_delay
    entry.median_delay = _interpolate(row.median_low, row.median_high, row.answered, tenths=5)
    entry.p90_delay = _interpolate(row.p90_low, row.p90_high, row.answered, tenths=9)


def _interpolate(low: int, high: int | None, count: int, *, tenths: int) -> Decimal:
    """PERCENTILE.INC between the delays at the two ranks around position 1 + p(n - 1)."""
    fraction = Decimal(tenths * (count - 1) % 10) / 10
    if not fraction or high is None:
        return Decimal(low)
    return low + fraction * (high - low)


def _empty_group(row_key: tuple[Any, ...], *, dimensions: Sequence[Dimension]) -> IndicatorGroup:
    entry = IndicatorGroup(month=row_key[0])
    for dimension, value in zip(dimensions, row_key[1:], strict=True):
        _set_dimension(entry, dimension, value)
    return entry


def _set_dimension(entry: IndicatorGroup, dimension: Dimension, value: Any) -> None:
    if dimension is Dimension.CHANNEL:
        entry.channel = None if value is None else CaseChannel(value)
    elif dimension is Dimension.KIND:
        entry.kind = None if value is None else CaseKind(value)
    elif dimension is Dimension.MAILBOX:
        entry.mailbox_id = value
    else:
        entry.service_id = value


def _add_empty_months(
    groups: dict[tuple[Any, ...], IndicatorGroup], *, request: IndicatorRequest
) -> None:
    """A group seen in one month gets a row in every month, so a quiet month shows zeros."""
    seen = {row_key[1:] for row_key in groups} if request.dimensions else {()}
    for dimensions_key in seen:
        for month in request.months:
            row_key = (month.key, *dimensions_key)
            if row_key not in groups:
                groups[row_key] = _empty_group(row_key, dimensions=request.dimensions)


def _name_groups(session: Session, groups: list[IndicatorGroup]) -> None:
    """Mailbox slugs and service names, for people reading the figures."""
    # Both tables hold a few dozen rows at most: reading them whole is simplest.
    slugs = {row[0]: row[1] for row in session.exec(select(Mailbox.id, Mailbox.slug))}
    names = {row[0]: row[1] for row in session.exec(select(Service.id, Service.name))}
    for entry in groups:
        entry.mailbox = slugs.get(entry.mailbox_id) if entry.mailbox_id else None
        entry.service = names.get(entry.service_id) if entry.service_id else None


def _earliest_day(session: Session) -> date | None:
    """The earliest day of receipt: the calendar table must reach back to it."""
    return session.exec(select(func.min(Case.received_on))).one()


def _month(months: Sequence[Month], key: str) -> Month:
    return next(month for month in months if month.key == key)


def _order(entry: IndicatorGroup) -> tuple[Any, ...]:
    return (
        entry.month,
        entry.channel or "",
        entry.kind or "",
        entry.mailbox or "",
        entry.service or "",
    )
