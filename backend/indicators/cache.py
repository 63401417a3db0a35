"""The figures of months that are over, kept so the table does not regroup a year of cases.

A month that is over rarely changes, but it can: an answer recorded late with a past date, a
case reclassified, a paper letter registered days after it arrived. Triggers on cases and
waiting_periods log each such change with the earliest day it touches (indicator_changes);
before reading the cache, the changes are taken and every kept month from that day on is
dropped, so the cache never serves a figure a change has made wrong. The month in progress is
always computed.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from backend.database import dialect_insert
from backend.indicators.queries import (
    AnsweredRow,
    BacklogRow,
    Month,
    Scope,
    answered_statistics,
    backlog,
    received_counts,
)
from backend.models import IndicatorChange, IndicatorMonthCache

_CACHE_TABLE: sa.Table = IndicatorMonthCache.__table__  # type: ignore[attr-defined]
# Any constant: the key of the PostgreSQL advisory lock that lets one request at a time take
# the changes and fill the cache (the others wait, then read what it kept).
_LOCK_KEY = 7_151_920_261


@dataclass(slots=True)
class MonthRows:
    """What the three aggregate queries return, for some months."""

    received: dict[tuple[Any, ...], int] = field(default_factory=dict)
    answered: list[AnsweredRow] = field(default_factory=list)
    backlog: list[BacklogRow] = field(default_factory=list)

    def extend(self, other: "MonthRows") -> None:
        """Add another set of months' rows to these."""
        self.received.update(other.received)
        self.answered.extend(other.answered)
        self.backlog.extend(other.backlog)

    def of_month(self, month: str) -> "MonthRows":
        """The rows of one month."""
        return MonthRows(
            received={key: count for key, count in self.received.items() if key[0] == month},
            answered=[row for row in self.answered if row.key[0] == month],
            backlog=[row for row in self.backlog if row.key[0] == month],
        )


def month_rows(session: Session, *, scope: Scope, today: date) -> MonthRows:
    """The queries' rows over the scope's months, those of months already over kept."""
    key = scope_key(scope)
    month_keys = [month.key for month in scope.months]
    kept = _kept_months(session, key=key, months=month_keys)
    over = [month for month in scope.months if month.last_day < today]
    to_keep = _must_refresh(session, kept=[m for m in over if m.key in kept]) or any(
        month.key not in kept for month in over
    )
    if to_keep:
        _lock(session)
        drop_changed_months(session)
        kept = _kept_months(session, key=key, months=month_keys)
    rows = MonthRows()
    for kept_rows in kept.values():
        rows.extend(_loaded(kept_rows))
    missing = [month for month in scope.months if month.key not in kept]
    if not missing:
        return rows
    # The missing months are usually the latest ones: one pass over their whole span.
    first, last = scope.months.index(missing[0]), scope.months.index(missing[-1])
    span = Scope(
        months=scope.months[first : last + 1],
        dimensions=scope.dimensions,
        rules=scope.rules,
        calendar_key=scope.calendar_key,
    )
    computed = _computed(session, scope=span)
    for month in missing:
        of_month = computed.of_month(month.key)
        rows.extend(of_month)
        if to_keep and month.last_day < today:
            _keep(session, key=key, month=month.key, last_day=month.last_day, rows=of_month)
    return rows


def drop_changed_months(session: Session) -> None:
    """Take the logged changes and drop every kept month from the earliest day they touch."""
    taken = session.execute(delete(IndicatorChange).returning(col(IndicatorChange.from_day)))
    earliest = min((row[0] for row in taken), default=None)
    if earliest is not None:
        session.execute(
            delete(IndicatorMonthCache).where(col(IndicatorMonthCache.month_last_day) >= earliest)
        )


def scope_key(scope: Scope) -> str:
    """The calendar, the counting rules and the grouping: what a month's rows depend on."""
    rules = scope.rules
    described = json.dumps(
        {
            "targets": rules.targets.model_dump(),
            "waits": rules.excludes_waiting_periods,
            "holding": rules.holding_reply_stops_clock,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(described.encode()).hexdigest()[:16]
    grouping = ",".join(dimension.value for dimension in scope.dimensions)
    return f"{scope.calendar_key}|{digest}|{grouping}"


def _must_refresh(session: Session, *, kept: Sequence[Month]) -> bool:
    """Whether a logged change touches one of these kept months."""
    if not kept:
        return False
    earliest = session.exec(select(sa.func.min(IndicatorChange.from_day))).one()
    return earliest is not None and earliest <= max(month.last_day for month in kept)


def _lock(session: Session) -> None:
    # SQLite lets one writer at a time anyway.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _kept_months(session: Session, *, key: str, months: Sequence[str]) -> dict[str, Any]:
    statement = select(IndicatorMonthCache.month, IndicatorMonthCache.rows).where(
        IndicatorMonthCache.scope_key == key, col(IndicatorMonthCache.month).in_(months)
    )
    return {month: rows for month, rows in session.exec(statement)}


def _computed(session: Session, *, scope: Scope) -> MonthRows:
    return MonthRows(
        received=received_counts(session, scope=scope),
        answered=answered_statistics(session, scope=scope),
        backlog=backlog(session, scope=scope),
    )


def _keep(session: Session, *, key: str, month: str, last_day: date, rows: MonthRows) -> None:
    values = {"scope_key": key, "month": month, "month_last_day": last_day, "rows": _dumped(rows)}
    statement = dialect_insert(session, _CACHE_TABLE).values(**values)
    # Another process may have kept the same month meanwhile: both computed the same rows.
    session.execute(statement.on_conflict_do_nothing(index_elements=["scope_key", "month"]))


def _dumped(rows: MonthRows) -> dict[str, Any]:
    return {
        "received": [[*key, count] for key, count in rows.received.items()],
        "answered": [
            [
                list(row.key),
                row.answered,
                row.delay_total,
                row.within_target,
                row.max_delay,
                row.median_low,
                row.median_high,
                row.p90_low,
                row.p90_high,
            ]
            for row in rows.answered
        ],
        "backlog": [
            [list(row.key), row.open_cases, row.past_due, row.oldest_received_on.isoformat()]
            for row in rows.backlog
        ],
    }


def _loaded(kept: dict[str, Any]) -> MonthRows:
    return MonthRows(
        received={tuple(entry[:-1]): entry[-1] for entry in kept["received"]},
        answered=[AnsweredRow(tuple(entry[0]), *entry[1:]) for entry in kept["answered"]],
        backlog=[
            BacklogRow(tuple(key), open_cases, past_due, date.fromisoformat(oldest))
            for key, open_cases, past_due, oldest in kept["backlog"]
        ],
    )
