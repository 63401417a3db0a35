"""The indicators' SQL: each figure one aggregate query over the cases and the calendar table.

A case's delay is the running working-day number of its answer day minus the start number of
its day of receipt, less the working days it waited for the citizen: two or three lookups by
date, the same on PostgreSQL and SQLite. Merged cases are counted once, in the case they were
merged into.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import NamedFromClause
from sqlmodel import Session, col

from backend.indicators.delays import DelayRules
from backend.models import Case, CaseChannel, CaseKind, WaitingPeriod
from backend.models.indicators import CalendarDay

_CALENDAR: sa.Table = CalendarDay.__table__  # type: ignore[attr-defined]
_CASES: sa.Table = Case.__table__  # type: ignore[attr-defined]
_WAITING: sa.Table = WaitingPeriod.__table__  # type: ignore[attr-defined]


def _not_merged(session: Session) -> ColumnElement[bool]:
    """Cases not merged into another, as each database plans it best.

    Nearly every case is unmerged. SQLite, whose statistics count NULL as one value among
    many, would go through the index on merged_into_id for IS NULL and visit every case that
    way: it is given an expression no index serves. PostgreSQL keeps IS NULL, which its
    statistics estimate right (an expression would be guessed at 0.5 % and misplanned).
    """
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.coalesce(col(Case.merged_into_id), 0) == 0
    return col(Case.merged_into_id).is_(None)


class Dimension(StrEnum):
    """What the indicators may be grouped by, besides the month."""

    CHANNEL = "channel"
    KIND = "kind"
    MAILBOX = "mailbox"
    SERVICE = "service"


_DIMENSION_COLUMNS: dict[Dimension, Any] = {
    Dimension.CHANNEL: Case.channel,
    Dimension.KIND: Case.kind,
    Dimension.MAILBOX: Case.mailbox_id,
    Dimension.SERVICE: Case.service_id,
}


@dataclass(frozen=True, slots=True)
class Month:
    """One month of the period: its key ("2026-03") and its first and last days."""

    key: str
    first_day: date
    last_day: date


@dataclass(frozen=True, slots=True)
class Scope:
    """What one set of queries covers: the months, the grouping, the rules and calendar rows."""

    months: Sequence[Month]
    dimensions: Sequence[Dimension]
    rules: DelayRules
    calendar_key: str

    @property
    def first_day(self) -> date:
        """The period's first day."""
        return self.months[0].first_day

    @property
    def last_day(self) -> date:
        """The period's last day."""
        return self.months[-1].last_day


@dataclass(frozen=True, slots=True)
class AnsweredRow:
    """The answers of one month and group: how many, their delays' sum, rank picks, within."""

    key: tuple[Any, ...]
    answered: int
    delay_total: int
    within_target: int
    max_delay: int
    # Delays at the ranks around the median and the 90th percentile (None past the last).
    median_low: int
    median_high: int | None
    p90_low: int
    p90_high: int | None


@dataclass(frozen=True, slots=True)
class BacklogRow:
    """The cases open at the end of one month, in one group."""

    key: tuple[Any, ...]
    open_cases: int
    past_due: int
    oldest_received_on: date


def received_counts(session: Session, *, scope: Scope) -> dict[tuple[Any, ...], int]:
    """Cases received per month and group."""
    received = _CALENDAR.alias("received_day")
    statement = (
        sa.select(received.c.month, *_dimension_columns(scope), sa.func.count().label("received"))
        .select_from(Case)
        .join(received, _on_day(received, col(Case.received_on), scope=scope))
        .where(
            _not_merged(session),
            col(Case.received_on) >= scope.first_day,
            col(Case.received_on) <= scope.last_day,
        )
        .group_by(received.c.month, *_dimension_columns(scope))
    )
    return {tuple(row[:-1]): row[-1] for row in session.execute(statement)}


def answered_statistics(session: Session, *, scope: Scope) -> list[AnsweredRow]:
    """Answers per month and group, with the delays' sum, ranks and count within target."""
    dimensions = [column.name for column in _dimension_columns(scope)]
    answered = _answered_delays(scope, not_merged=_not_merged(session)).cte("answered")
    group = [answered.c.month, *(answered.c[name] for name in dimensions)]
    within = sa.case((answered.c.delay <= answered.c.target, 1), else_=0)
    histogram = (
        sa.select(
            *group,
            answered.c.delay,
            sa.func.count().label("n"),
            sa.func.sum(within).label("within"),
        )
        .group_by(*group, answered.c.delay)
        .cte("histogram")
    )
    histogram_group = [histogram.c.month, *(histogram.c[name] for name in dimensions)]
    ranked = sa.select(
        histogram,
        sa.cast(
            sa.func.sum(histogram.c.n).over(
                partition_by=histogram_group, order_by=histogram.c.delay
            ),
            sa.Integer,
        ).label("cumulative"),
        sa.cast(sa.func.sum(histogram.c.n).over(partition_by=histogram_group), sa.Integer).label(
            "total"
        ),
    ).cte("ranked")
    ranked_group = [ranked.c.month, *(ranked.c[name] for name in dimensions)]
    statement = sa.select(
        *ranked_group,
        sa.func.sum(ranked.c.n),
        sa.func.sum(ranked.c.n * ranked.c.delay),
        sa.func.sum(ranked.c.within),
        sa.func.max(ranked.c.delay),
        *_delay_at_rank(ranked, tenths=5),
        *_delay_at_rank(ranked, tenths=9),
    ).group_by(*ranked_group)
    return [
        AnsweredRow(
            key=tuple(row[: len(ranked_group)]),
            answered=int(row[-8]),
            delay_total=int(row[-7]),
            within_target=int(row[-6]),
            max_delay=int(row[-5]),
            median_low=int(row[-4]),
            median_high=None if row[-3] is None else int(row[-3]),
            p90_low=int(row[-2]),
            p90_high=None if row[-1] is None else int(row[-1]),
        )
        for row in session.execute(statement)
    ]


def backlog(session: Session, *, scope: Scope) -> list[BacklogRow]:
    """Cases open at the end of each month, of which past their due date, and the oldest."""
    received = _CALENDAR.alias("received_day")
    resolved = resolved_on(scope.rules)
    months = sa.union_all(
        *(
            sa.select(
                sa.literal(month.key, sa.String).label("month"),
                sa.literal(month.last_day, sa.Date).label("last_day"),
            )
            for month in scope.months
        )
    ).subquery("months")
    # Only a case still open when its month of receipt ended is open at any month's end: those
    # few are set apart first (materialized, so that no database joins every case to the
    # months), then counted at each month's end.
    dimensions = _dimension_columns(scope)
    open_cases = (
        sa.select(
            col(Case.received_on).label("received_on"),
            resolved.label("resolved_on"),
            col(Case.due_date).label("due_date"),
            *dimensions,
        )
        .select_from(Case)
        .join(received, _on_day(received, col(Case.received_on), scope=scope))
        .where(
            _not_merged(session),
            col(Case.received_on) <= scope.last_day,
            sa.or_(resolved.is_(None), resolved > received.c.month_last_day),
            sa.or_(resolved.is_(None), resolved > scope.months[0].last_day),
        )
        .cte("open_cases")
        .prefix_with("MATERIALIZED")
    )
    still_open = sa.or_(
        open_cases.c.resolved_on.is_(None), open_cases.c.resolved_on > months.c.last_day
    )
    past_due = sa.case((open_cases.c.due_date <= months.c.last_day, 1), else_=0)
    group = [open_cases.c[column.name] for column in dimensions]
    statement = (
        sa.select(
            months.c.month,
            *group,
            sa.func.count(),
            sa.func.sum(past_due),
            sa.func.min(open_cases.c.received_on),
        )
        .select_from(open_cases)
        .join(months, sa.and_(open_cases.c.received_on <= months.c.last_day, still_open))
        .group_by(months.c.month, *group)
    )
    return [
        BacklogRow(
            key=tuple(row[:-3]),
            open_cases=int(row[-3]),
            past_due=int(row[-2] or 0),
            oldest_received_on=row[-1],
        )
        for row in session.execute(statement)
    ]


def answer_on(rules: DelayRules) -> ColumnElement[Any]:
    """The day the clock stopped: the answer, or an earlier holding reply when it counts."""
    if not rules.holding_reply_stops_clock:
        return _CASES.c.answered_on
    holding_first = sa.and_(
        col(Case.holding_reply_on).is_not(None),
        sa.or_(col(Case.answered_on).is_(None), col(Case.holding_reply_on) < col(Case.answered_on)),
    )
    return sa.case((holding_first, col(Case.holding_reply_on)), else_=col(Case.answered_on))


def target_days(rules: DelayRules) -> ColumnElement[Any]:
    """A case's target: a complaint's whatever its channel, else its channel's."""
    targets = rules.targets
    return sa.case(
        (col(Case.kind) == CaseKind.COMPLAINT, targets.complaint),
        (col(Case.channel) == CaseChannel.EMAIL, targets.email),
        (col(Case.channel) == CaseChannel.PAPER, targets.paper),
        else_=targets.suggestion_box,
    )


def _answered_delays(scope: Scope, *, not_merged: ColumnElement[bool]) -> sa.Select[Any]:
    """One row per case answered in the period: month of the answer, group, delay, target."""
    received = _CALENDAR.alias("received_day")
    answered = _CALENDAR.alias("answer_day")
    answered_on = answer_on(scope.rules)
    delay: ColumnElement[Any] = answered.c.working_days_through - received.c.start_number
    statement = (
        sa.select(answered.c.month.label("month"), *_dimension_columns(scope))
        .select_from(Case)
        .join(received, _on_day(received, col(Case.received_on), scope=scope))
        .join(answered, _on_day(answered, answered_on, scope=scope))
        .where(
            not_merged,
            answered_on >= scope.first_day,
            answered_on <= scope.last_day,
        )
    )
    if scope.rules.excludes_waiting_periods:
        waits = _waited_days(scope).subquery("waits")
        statement = statement.outerjoin(waits, waits.c.case_id == Case.id)
        delay = delay - sa.func.coalesce(waits.c.waited, 0)
    # An answer on the weekend of receipt, before the first working day, takes no day.
    delay = sa.case((delay < 0, 0), else_=delay)
    return statement.add_columns(delay.label("delay"), target_days(scope.rules).label("target"))


def _waited_days(scope: Scope) -> sa.Select[Any]:
    """Per case answered in the period, the working days it waited for the citizen."""
    started = _CALENDAR.alias("wait_start")
    ended = _CALENDAR.alias("wait_end")
    answered_on = answer_on(scope.rules)
    # A wait counts the working days after the request up to the documents' arrival, as if
    # the case had been received again that day; a wait still open ends at the answer.
    ended_on = sa.case(
        (
            sa.or_(
                col(WaitingPeriod.ended_on).is_(None), col(WaitingPeriod.ended_on) > answered_on
            ),
            answered_on,
        ),
        else_=col(WaitingPeriod.ended_on),
    )
    waited = ended.c.working_days_through - started.c.working_days_through
    statement: sa.Select[Any] = (
        sa.select(
            _WAITING.c.case_id,
            sa.func.sum(sa.case((waited > 0, waited), else_=0)).label("waited"),
        )
        .select_from(WaitingPeriod)
        .join(Case, col(Case.id) == col(WaitingPeriod.case_id))
        .join(started, _on_day(started, col(WaitingPeriod.started_on), scope=scope))
        .join(ended, _on_day(ended, ended_on, scope=scope))
        .where(answered_on >= scope.first_day, answered_on <= scope.last_day)
        .group_by(col(WaitingPeriod.case_id))
    )
    return statement


def resolved_on(rules: DelayRules) -> ColumnElement[Any]:
    """The day a case stopped being open: its answer, or its closing without one."""
    answered_on = answer_on(rules)
    closed_first = sa.and_(
        col(Case.closed_on).is_not(None),
        sa.or_(answered_on.is_(None), col(Case.closed_on) < answered_on),
    )
    return sa.case((closed_first, col(Case.closed_on)), else_=answered_on)


def _delay_at_rank(ranked: Any, *, tenths: int) -> tuple[ColumnElement[Any], ...]:
    """The delays at the two ranks a percentile interpolates between (PERCENTILE.INC)."""
    # Position 1 + p(n - 1) with p = tenths / 10, in integer arithmetic on both databases.
    low_rank = 1 + (tenths * (ranked.c.total - 1)) // 10
    return tuple(
        sa.func.min(sa.case((ranked.c.cumulative >= rank, ranked.c.delay)))
        for rank in (low_rank, low_rank + 1)
    )


def _on_day(day: NamedFromClause, value: Any, *, scope: Scope) -> ColumnElement[bool]:
    """The calendar row of that day in the configured calendar."""
    return sa.and_(day.c.calendar == scope.calendar_key, day.c.day == value)


def _dimension_columns(scope: Scope) -> list[Any]:
    """The grouping's columns, labelled by dimension."""
    return [_DIMENSION_COLUMNS[dimension].label(dimension.value) for dimension in scope.dimensions]
