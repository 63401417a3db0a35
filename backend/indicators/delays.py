"""The delay of one case as DOMAIN.md defines it, with the préfecture's counting rules.

The indicators compute the same in SQL over the calendar table (see queries.py); this is the
plain-Python form for one case, used where a single case is shown and as the reference the
SQL path is tested against.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Self

from backend.calendar.working_days import WorkingCalendar
from backend.config import DelayTargets, Settings


@dataclass(frozen=True, slots=True)
class DelayRules:
    """How delays are counted: the calendar, and what stops or pauses the clock."""

    calendar: WorkingCalendar
    targets: DelayTargets
    excludes_waiting_periods: bool = True
    holding_reply_stops_clock: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The rules this préfecture configured."""
        return cls(
            calendar=WorkingCalendar.from_settings(settings),
            targets=settings.delay_targets,
            excludes_waiting_periods=settings.delay_excludes_waiting_periods,
            holding_reply_stops_clock=settings.holding_reply_stops_clock,
        )


@dataclass(frozen=True, slots=True)
class WaitingDays:
    """The days a wait for the citizen's documents began and, once over, ended."""

    started_on: date
    ended_on: date | None


@dataclass(frozen=True, slots=True)
class CaseDays:
    """The days, at the préfecture, that a case's delay depends on."""

    received_on: date
    answered_on: date | None
    holding_reply_on: date | None = None
    waiting: Sequence[WaitingDays] = ()


def answer_day(days: CaseDays, *, rules: DelayRules) -> date | None:
    """The day the clock stopped: the answer, or an earlier holding reply when it counts."""
    holding_on = days.holding_reply_on if rules.holding_reply_stops_clock else None
    if holding_on is not None and (days.answered_on is None or holding_on < days.answered_on):
        return holding_on
    return days.answered_on


def case_delay(days: CaseDays, *, rules: DelayRules, today: date | None = None) -> int | None:
    """Working days from receipt to the answer (or to today while open), waits left out."""
    stopped_on = answer_day(days, rules=rules) or today
    if stopped_on is None:
        return None
    calendar = rules.calendar
    delay = calendar.delay(received=days.received_on, answered=stopped_on)
    if rules.excludes_waiting_periods:
        # A wait counts the working days after the request up to the documents' arrival, as
        # if the case had been received again that day; a wait still open ends at the answer.
        delay -= sum(
            calendar.working_days_between(
                start=wait.started_on,
                end=min(wait.ended_on or stopped_on, stopped_on),
            )
            for wait in days.waiting
        )
    return max(delay, 0)
