"""Working days (jours ouvrés): Monday to Friday minus the préfecture's French public holidays.

The one implementation of delays behind the due dates of cases, the letters' deadlines, the
overdue alerts and the indicators. A delay starts on the first working day on or after the day
of receipt and counts the working days after that start up to and including the day of the
answer (see DOMAIN.md, "Delay indicators"). In calendar-day mode every day is a working day.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Self

from holidays.countries.france import France

from backend.config import DelayUnit, Settings

__all__ = ["VALID_SUBDIVISIONS", "DelayUnit", "WorkingCalendar", "days_left"]

# The departments of Alsace, which the holidays package merged into the Collectivité européenne
# d'Alsace: a préfecture of Bas-Rhin or Haut-Rhin naturally configures its department number.
_ALSACE_DEPARTMENTS = {"67": "6AE", "68": "6AE"}
VALID_SUBDIVISIONS: tuple[str, ...] = tuple(France.subdivisions) + tuple(
    code for code in _ALSACE_DEPARTMENTS if code not in France.subdivisions
)
_SATURDAY = 5


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count in a delay, for one unit and one holidays.France subdivision."""

    unit: DelayUnit = DelayUnit.WORKING_DAYS
    subdivision: str | None = None

    def __post_init__(self) -> None:
        if self.subdivision is None:
            return
        if self.subdivision not in VALID_SUBDIVISIONS:
            raise ValueError(
                f"unknown holiday subdivision {self.subdivision!r} for France; valid ones: "
                f"{', '.join(VALID_SUBDIVISIONS)} (or none for metropolitan France)"
            )
        if self.subdivision not in France.subdivisions:
            # Frozen: the canonical code replaces the alias so that equal calendars compare equal.
            object.__setattr__(self, "subdivision", _ALSACE_DEPARTMENTS[self.subdivision])

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The calendar configured for this préfecture."""
        return cls(unit=settings.delay_unit, subdivision=settings.prefecture.holiday_subdivision)

    @property
    def counts_calendar_days(self) -> bool:
        """True when every day counts, weekends and holidays included."""
        return self.unit is DelayUnit.CALENDAR_DAYS

    def is_working_day(self, day: date) -> bool:
        """True for a weekday that is not a public holiday (every day in calendar-day mode)."""
        if self.counts_calendar_days:
            return True
        return day.weekday() < _SATURDAY and day not in _public_holidays(self.subdivision, day.year)

    def first_working_day_on_or_after(self, day: date) -> date:
        """The day itself when it is worked, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_between(self, *, start: date, end: date) -> int:
        """The number of working days in (start, end]: 0 when end is not after start."""
        if end <= start:
            return 0
        if self.counts_calendar_days:
            return (end - start).days
        # Arithmetic on weekdays then the holidays of the years spanned: indicators count over
        # years for thousands of cases, where a loop over every day would dominate.
        holidays_in_span = sum(
            1
            for year in range(start.year, end.year + 1)
            for holiday in _weekday_holidays(self.subdivision, year)
            if start < holiday <= end
        )
        return _weekdays_through(end) - _weekdays_through(start) - holidays_in_span

    def add_working_days(self, *, day: date, count: int) -> date:
        """The count-th working day after day (day itself when count is 0)."""
        if count < 0:
            raise ValueError(f"cannot add a negative number of working days ({count})")
        if self.counts_calendar_days:
            return day + timedelta(days=count)
        # Stepping is cheap for targets of days or weeks, the only use.
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def delay(self, *, received: date, answered: date) -> int:
        """Working days after the first working day on or after receipt, through the answer."""
        # An answer before the start (received and answered on the same weekend) is 0, never
        # negative: working_days_between counts nothing when end is not after start.
        start = self.first_working_day_on_or_after(received)
        return self.working_days_between(start=start, end=answered)

    def due_date(self, *, received: date, target_days: int) -> date:
        """The last working day on which an answer keeps a delay of at most target_days."""
        # An answer on the weekend or holiday after the due date has the same delay, but a due
        # date is shown to agents and citizens, so it is the working day.
        if target_days < 0:
            raise ValueError(f"a delay target cannot be negative ({target_days})")
        start = self.first_working_day_on_or_after(received)
        return self.add_working_days(day=start, count=target_days)


def days_left(*, today: date, due: date, calendar: WorkingCalendar) -> int:
    """Working days until due: positive left, 0 due today, negative working days late."""
    # A non-working day right after the due date still gives 0: an answer sent then has the
    # same delay as one sent on the due date, so the case is not late yet.
    if today <= due:
        return calendar.working_days_between(start=today, end=due)
    return -calendar.working_days_between(start=due, end=today)


def _weekdays_through(day: date) -> int:
    """Mondays to Fridays from 1 January of year 1 (a Monday) up to and including day."""
    weeks, extra_days = divmod(day.toordinal(), 7)
    return 5 * weeks + min(extra_days, 5)


@lru_cache(maxsize=1024)
def _public_holidays(subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of one year, built once and never mutated afterwards."""
    # A frozen set per year rather than one shared holidays.France object: that object adds
    # years to itself on lookup, which concurrent requests must not do at the same time.
    # holidays.France includes Whit Monday (lundi de Pentecôte): it is a public holiday even
    # where the journée de solidarité makes it worked, so it is not a working day here.
    return frozenset(France(subdiv=subdivision, years=year))


@lru_cache(maxsize=1024)
def _weekday_holidays(subdivision: str | None, year: int) -> tuple[date, ...]:
    """The public holidays of one year that fall on a weekday, the only ones a count removes."""
    return tuple(
        sorted(day for day in _public_holidays(subdivision, year) if day.weekday() < _SATURDAY)
    )
