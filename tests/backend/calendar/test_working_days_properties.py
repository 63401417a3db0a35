"""Delays against a day-by-day count: random dates of 2020–2030, mainland, Alsace-Moselle, overseas.

The oracle below never calls the code under test: it walks one day at a time and asks
holidays.France and date.weekday() directly, as DOMAIN.md ("Delay indicators") words the rules.
France is imported from holidays.countries.france, the class that the lazy loader holidays.France
stands for, so that mypy sees its type.
"""

from datetime import date, timedelta
from functools import cache

import pytest
from holidays.countries.france import France
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.calendar.working_days import DelayUnit, WorkingCalendar, days_left

FIRST_DAY = date(2020, 1, 1)
LAST_DAY = date(2030, 12, 31)
ONE_DAY = timedelta(days=1)

# No example database: failures are reported with their example, not replayed from .hypothesis/.
PROPERTIES = settings(max_examples=300, deadline=None, database=None)

days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
spans = st.integers(min_value=0, max_value=400)
signed_spans = st.integers(min_value=-400, max_value=400)
targets = st.integers(min_value=0, max_value=60)

# Each calendar beside the holidays.France subdivision the oracle asks for its holidays.
CALENDARS = pytest.mark.parametrize(
    ("calendar", "subdivision"),
    [
        (WorkingCalendar(), None),
        (WorkingCalendar(subdivision="57"), "57"),
        (WorkingCalendar(subdivision="6AE"), "6AE"),
        (WorkingCalendar(subdivision="67"), "6AE"),
        (WorkingCalendar(subdivision="974"), "974"),
        (WorkingCalendar(subdivision="971"), "971"),
    ],
    ids=[
        "metropolitan",
        "moselle-57",
        "alsace-6AE",
        "bas-rhin-67",
        "reunion-974",
        "guadeloupe-971",
    ],
)


@cache
def _holidays_of(subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of one year, straight from holidays.France."""
    return frozenset(France(subdiv=subdivision, years=year))


def _is_worked(subdivision: str | None, day: date) -> bool:
    """Monday to Friday and not a public holiday of the subdivision."""
    return day.weekday() < 5 and day not in _holidays_of(subdivision, day.year)


def _count_worked(subdivision: str | None, *, start: date, end: date) -> int:
    """Working days in (start, end], one day at a time (0 when end is not after start)."""
    count = 0
    day = start
    while day < end:
        day += ONE_DAY
        count += _is_worked(subdivision, day)
    return count


def _next_worked(subdivision: str | None, day: date) -> date:
    """The first working day strictly after day."""
    day += ONE_DAY
    while not _is_worked(subdivision, day):
        day += ONE_DAY
    return day


def _delay(subdivision: str | None, *, received: date, answered: date) -> int:
    """DOMAIN.md's delay: working days after the first working day on or after receipt."""
    start = received
    while not _is_worked(subdivision, start):
        start += ONE_DAY
    return _count_worked(subdivision, start=start, end=answered)


def _add_worked(subdivision: str | None, *, day: date, count: int) -> date:
    """The count-th working day after day, one day at a time."""
    for _ in range(count):
        day = _next_worked(subdivision, day)
    return day


def test_the_oracle_agrees_with_the_domain_examples() -> None:
    """The brute-force delay gives DOMAIN.md's worked examples, so it is a fair reference."""
    assert _delay(None, received=date(2026, 3, 10), answered=date(2026, 3, 10)) == 0
    assert _delay(None, received=date(2026, 3, 6), answered=date(2026, 3, 9)) == 1
    assert _delay(None, received=date(2026, 3, 7), answered=date(2026, 3, 9)) == 0
    assert _delay(None, received=date(2023, 7, 14), answered=date(2023, 7, 17)) == 0


@CALENDARS
@PROPERTIES
@given(received=days, span=spans)
def test_delay_matches_a_day_by_day_count(
    calendar: WorkingCalendar, subdivision: str | None, received: date, span: int
) -> None:
    """delay() equals the day-by-day count for an answer 0 to 400 days after receipt."""
    answered = received + timedelta(days=span)

    assert calendar.delay(received=received, answered=answered) == _delay(
        subdivision, received=received, answered=answered
    )


@CALENDARS
@PROPERTIES
@given(received=days, days_before=st.integers(min_value=1, max_value=400))
def test_an_answer_dated_before_receipt_takes_no_day(
    calendar: WorkingCalendar, subdivision: str | None, received: date, days_before: int
) -> None:
    """delay() is 0, never negative, when the answer is dated before the receipt."""
    answered = received - timedelta(days=days_before)

    assert calendar.delay(received=received, answered=answered) == 0
    assert _delay(subdivision, received=received, answered=answered) == 0


@CALENDARS
@PROPERTIES
@given(start=days, span=signed_spans)
def test_working_days_between_matches_a_day_by_day_count(
    calendar: WorkingCalendar, subdivision: str | None, start: date, span: int
) -> None:
    """working_days_between() counts the working days of (start, end], 0 for an empty span."""
    end = start + timedelta(days=span)

    assert calendar.working_days_between(start=start, end=end) == _count_worked(
        subdivision, start=start, end=end
    )


@CALENDARS
@PROPERTIES
@given(day=days, count=targets)
def test_add_working_days_matches_stepping_day_by_day(
    calendar: WorkingCalendar, subdivision: str | None, day: date, count: int
) -> None:
    """add_working_days() lands on the count-th working day after day, day itself for 0."""
    result = calendar.add_working_days(day=day, count=count)

    assert result == _add_worked(subdivision, day=day, count=count)
    assert _count_worked(subdivision, start=day, end=result) == count


@CALENDARS
@PROPERTIES
@given(received=days, target=targets)
def test_an_answer_on_the_due_date_takes_exactly_the_target(
    calendar: WorkingCalendar, subdivision: str | None, received: date, target: int
) -> None:
    """The due date is a working day with a delay of target; the next working day exceeds it."""
    due = calendar.due_date(received=received, target_days=target)
    next_working_day = _next_worked(subdivision, due)

    assert _is_worked(subdivision, due)
    assert calendar.delay(received=received, answered=due) == target
    assert _delay(subdivision, received=received, answered=due) == target
    # Every day up to the next working day keeps the target: the due date is the last one shown.
    assert _delay(subdivision, received=received, answered=next_working_day - ONE_DAY) == target
    assert calendar.delay(received=received, answered=next_working_day) == target + 1
    assert _delay(subdivision, received=received, answered=next_working_day) == target + 1


@CALENDARS
@PROPERTIES
@given(today=days, offset=signed_spans)
def test_days_left_matches_a_day_by_day_count(
    calendar: WorkingCalendar, subdivision: str | None, today: date, offset: int
) -> None:
    """days_left() is the working days left before due, or minus the working days late after."""
    due = today + timedelta(days=offset)
    left = days_left(today=today, due=due, calendar=calendar)

    if today <= due:
        assert left == _count_worked(subdivision, start=today, end=due) >= 0
    else:
        assert left == -_count_worked(subdivision, start=due, end=today) <= 0
    if today == due:
        assert left == 0


@CALENDARS
@PROPERTIES
@given(received=days, target=targets, span=spans)
def test_a_case_is_late_exactly_when_an_answer_today_would_exceed_the_target(
    calendar: WorkingCalendar, subdivision: str | None, received: date, target: int, span: int
) -> None:
    """days_left() to the due date is negative iff an answer today has a delay over the target."""
    due = calendar.due_date(received=received, target_days=target)
    today = received + timedelta(days=span)

    late = days_left(today=today, due=due, calendar=calendar) < 0

    assert late == (_delay(subdivision, received=received, answered=today) > target)
    if late:
        assert days_left(today=_next_worked(subdivision, due), due=due, calendar=calendar) == -1


@pytest.mark.parametrize("subdivision", [None, "57", "974"], ids=["metropolitan", "57", "974"])
@PROPERTIES
@given(received=days, span=signed_spans, target=targets)
def test_calendar_days_count_every_day(
    subdivision: str | None, received: date, span: int, target: int
) -> None:
    """In calendar-day mode delays, due dates and days left are plain differences of dates."""
    calendar = WorkingCalendar(unit=DelayUnit.CALENDAR_DAYS, subdivision=subdivision)
    answered = received + timedelta(days=span)

    assert calendar.delay(received=received, answered=answered) == max(0, span)
    assert calendar.due_date(received=received, target_days=target) == received + timedelta(
        days=target
    )
    assert calendar.add_working_days(day=received, count=target) == received + timedelta(
        days=target
    )
    assert days_left(today=received, due=answered, calendar=calendar) == span
