"""The indicators in plain Python, case by case: the reference the SQL path must agree with."""

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backend.cases.due_dates import target_days
from backend.indicators.delays import CaseDays, DelayRules, answer_day, case_delay
from backend.indicators.queries import Month
from backend.models import CaseChannel, CaseKind


@dataclass(frozen=True)
class ReferenceCase:
    """What the indicators read of a case."""

    channel: CaseChannel
    kind: CaseKind
    days: CaseDays
    due_date: date
    closed_on: date | None
    merged: bool


@dataclass(frozen=True)
class ReferenceFigures:
    """One month's figures, computed from the list of cases."""

    received: int
    answered: int
    delays: tuple[int, ...]
    within_target: int
    open_at_end: int
    past_due_at_end: int
    oldest_open_received_on: date | None

    @property
    def average_delay(self) -> Decimal | None:
        """The mean delay, exact."""
        return Decimal(sum(self.delays)) / len(self.delays) if self.delays else None

    def percentile(self, tenths: int) -> Decimal | None:
        """PERCENTILE.INC, as statistics.quantiles computes it inclusively."""
        if not self.delays:
            return None
        if len(self.delays) == 1:
            return Decimal(self.delays[0])
        cuts = statistics.quantiles([Decimal(d) for d in self.delays], n=10, method="inclusive")
        return Decimal(cuts[tenths - 1])


def reference_figures(
    cases: Sequence[ReferenceCase], *, months: Sequence[Month], rules: DelayRules
) -> dict[str, ReferenceFigures]:
    """Each month's figures, by looking at every case in turn."""
    counted = [case for case in cases if not case.merged]
    delays: dict[str, list[int]] = defaultdict(list)
    within: dict[str, int] = defaultdict(int)
    for case in counted:
        stopped = answer_day(case.days, rules=rules)
        month = _month_of(stopped, months)
        if stopped is None or month is None:
            continue
        delay = case_delay(case.days, rules=rules)
        assert delay is not None
        delays[month].append(delay)
        target = target_days(channel=case.channel, kind=case.kind, targets=rules.targets)
        within[month] += delay <= target
    return {
        month.key: ReferenceFigures(
            received=sum(_month_of(c.days.received_on, months) == month.key for c in counted),
            answered=len(delays[month.key]),
            delays=tuple(sorted(delays[month.key])),
            within_target=within[month.key],
            open_at_end=len(_open_at(counted, month.last_day, rules=rules)),
            past_due_at_end=sum(
                case.due_date <= month.last_day
                for case in _open_at(counted, month.last_day, rules=rules)
            ),
            oldest_open_received_on=min(
                (case.days.received_on for case in _open_at(counted, month.last_day, rules=rules)),
                default=None,
            ),
        )
        for month in months
    }


def _open_at(
    cases: Sequence[ReferenceCase], day: date, *, rules: DelayRules
) -> list[ReferenceCase]:
    """The cases received by that day and neither answered nor closed by then."""
    return [
        case
        for case in cases
        if case.days.received_on <= day
        and not _on_or_before(answer_day(case.days, rules=rules), day)
        and not _on_or_before(case.closed_on, day)
    ]


def _on_or_before(value: date | None, day: date) -> bool:
    return value is not None and value <= day


def _month_of(day: date | None, months: Sequence[Month]) -> str | None:
    if day is None:
        return None
    return next((m.key for m in months if m.first_day <= day <= m.last_day), None)
