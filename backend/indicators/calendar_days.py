"""The calendar table: every day numbered by its running count of working days.

A delay is then the difference of two numbers looked up by date, which any SQL database joins
and aggregates over millions of cases (see DOMAIN.md, "Delay indicators"). The rows are derived
from WorkingCalendar, the one definition of a working day, and built on first use for the
configured unit and holiday subdivision.
"""

from collections.abc import Iterator
from datetime import date, timedelta

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from backend.calendar.working_days import WorkingCalendar
from backend.database import dialect_insert
from backend.models import CalendarDay

# Day 0 of the numbering; the numbers of earlier days are negative.
NUMBERING_ORIGIN = date(2000, 1, 1)
# Built at least over these days; cases outside them extend the table.
DEFAULT_FIRST_DAY = date(2000, 1, 1)
DEFAULT_LAST_DAY = date(2059, 12, 31)
_ROWS_PER_INSERT = 1000


def calendar_key(calendar: WorkingCalendar) -> str:
    """The name of a calendar's rows: its unit, and its holidays' subdivision."""
    if calendar.counts_calendar_days:
        return "calendar_days"
    return f"working_days/{calendar.subdivision or 'metropole'}"


def working_days_through(calendar: WorkingCalendar, day: date) -> int:
    """The running number of a day: working days after the origin up to it (negative before)."""
    if day >= NUMBERING_ORIGIN:
        return calendar.working_days_between(start=NUMBERING_ORIGIN, end=day)
    return -calendar.working_days_between(start=day, end=NUMBERING_ORIGIN)


def ensure_calendar_days(
    session: Session,
    *,
    calendar: WorkingCalendar,
    first: date | None = None,
    last: date | None = None,
) -> str:
    """Make the calendar's rows cover the default span and first..last; its key."""
    key = calendar_key(calendar)
    wanted_first = min(first or DEFAULT_FIRST_DAY, DEFAULT_FIRST_DAY)
    wanted_last = max(last or DEFAULT_LAST_DAY, DEFAULT_LAST_DAY)
    built_first, built_last = session.exec(
        select(func.min(CalendarDay.day), func.max(CalendarDay.day)).where(
            col(CalendarDay.calendar) == key
        )
    ).one()
    if built_first is None or built_last is None:
        _insert_days(session, calendar=calendar, key=key, first=wanted_first, last=wanted_last)
        return key
    if wanted_first < built_first:
        end = built_first - timedelta(days=1)
        _insert_days(session, calendar=calendar, key=key, first=wanted_first, last=end)
    if wanted_last > built_last:
        start = built_last + timedelta(days=1)
        _insert_days(session, calendar=calendar, key=key, first=start, last=wanted_last)
    return key


def calendar_rows(
    calendar: WorkingCalendar, *, key: str, first: date, last: date
) -> Iterator[dict[str, object]]:
    """The rows of first..last, numbered from the origin."""
    through = working_days_through(calendar, first - timedelta(days=1))
    day = first
    while day <= last:
        working = calendar.is_working_day(day)
        through += working
        yield {
            "calendar": key,
            "day": day,
            "month": f"{day:%Y-%m}",
            "month_last_day": _month_last_day(day),
            "is_working_day": working,
            "working_days_through": through,
            # A delay starts on the first working day on or after the day of receipt.
            "start_number": through if working else through + 1,
        }
        day += timedelta(days=1)


def _insert_days(
    session: Session, *, calendar: WorkingCalendar, key: str, first: date, last: date
) -> None:
    """Insert the rows; rows another transaction built meanwhile are left as they are."""
    rows = list(calendar_rows(calendar, key=key, first=first, last=last))
    table = CalendarDay.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        statement = dialect_insert(session, table).on_conflict_do_nothing(
            index_elements=[table.c.calendar, table.c.day]
        )
        session.execute(statement, rows[start : start + _ROWS_PER_INSERT])
    if session.get_bind().dialect.name == "postgresql":
        # Planned as an empty table until autovacuum comes by, the calendar would have the
        # indicators' joins estimated at a few dozen rows instead of a million.
        session.execute(text("ANALYZE calendar_days"))


def _month_last_day(day: date) -> date:
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return next_month - timedelta(days=1)
