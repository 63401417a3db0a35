"""The SQL path and the plain-Python reference agree on 10,000 random cases."""

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col

from backend.config import Settings
from backend.indicators.delays import CaseDays, DelayRules, WaitingDays
from backend.indicators.periods import months_between, parse_month
from backend.indicators.service import IndicatorGroup, IndicatorRequest, compute_indicators
from backend.models import Case, CaseChannel, CaseKind, WaitingPeriod
from tests.backend.indicators.reference import ReferenceCase, ReferenceFigures, reference_figures

MONTHS = months_between(parse_month("2025-11"), parse_month("2026-10"))
CASES = 10_000
_REFERENCES_AND_IDS = sa.select(col(Case.reference), col(Case.id))


def random_case(generator: random.Random, *, settings: Settings) -> ReferenceCase:
    """A case received between September 2025 and October 2026, at any time of day."""
    received_at = datetime(2025, 9, 1, tzinfo=UTC) + timedelta(
        minutes=generator.randrange(425 * 24 * 60)
    )
    received_on = settings.local_date(received_at)
    answered_on = _later(generator, received_on, chance=0.9, days=30)
    holding_on = _later(generator, received_on, chance=0.15, days=10)
    waiting: tuple[WaitingDays, ...] = ()
    if generator.random() < 0.2:
        started = received_on + timedelta(days=generator.randrange(6))
        waiting = (WaitingDays(started, _later(generator, started, chance=0.8, days=15)),)
    return ReferenceCase(
        channel=generator.choice(list(CaseChannel)),
        kind=generator.choice(list(CaseKind)),
        days=CaseDays(received_on, answered_on, holding_on, waiting),
        due_date=received_on + timedelta(days=generator.randrange(3, 16)),
        closed_on=_later(generator, received_on, chance=0.05, days=20),
        merged=generator.random() < 0.02,
    )


@pytest.mark.parametrize(
    ("excludes_waits", "holding_stops"), [(True, False), (False, True)], ids=["default", "other"]
)
def test_sql_and_python_agree_on_every_figure(
    session: Session, settings: Settings, excludes_waits: bool, holding_stops: bool
) -> None:
    settings = settings.model_copy(
        update={
            "delay_excludes_waiting_periods": excludes_waits,
            "holding_reply_stops_clock": holding_stops,
        }
    )
    generator = random.Random(20261126)
    cases = [random_case(generator, settings=settings) for _ in range(CASES)]
    _insert(session, cases, settings=settings)

    expected = reference_figures(cases, months=MONTHS, rules=DelayRules.from_settings(settings))

    # Once computed, then read back from the months kept (all of them are over).
    for _ in ("computed", "kept"):
        groups = compute_indicators(
            session, request=IndicatorRequest(months=MONTHS), settings=settings
        )
        assert sum(group.answered for group in groups) > 7_000
        for group in groups:
            assert _figures(group) == _reference(expected[group.month]), group.month


def _figures(group: IndicatorGroup) -> tuple[object, ...]:
    return (
        group.received,
        group.answered,
        group.delay_total,
        group.average_delay,
        group.median_delay,
        group.p90_delay,
        group.max_delay,
        group.within_target,
        group.open_at_end,
        group.past_due_at_end,
        group.oldest_open_received_on,
    )


def _reference(reference: ReferenceFigures) -> tuple[object, ...]:
    return (
        reference.received,
        reference.answered,
        sum(reference.delays),
        reference.average_delay,
        reference.percentile(5),
        reference.percentile(9),
        max(reference.delays, default=None),
        reference.within_target,
        reference.open_at_end,
        reference.past_due_at_end,
        reference.oldest_open_received_on,
    )


def _later(generator: random.Random, day: date, *, chance: float, days: int) -> date | None:
    """Sometimes a day 0 to `days` days after `day`."""
    return day + timedelta(days=generator.randrange(days)) if generator.random() < chance else None


def _insert(session: Session, cases: list[ReferenceCase], *, settings: Settings) -> None:
    """The cases as rows, with instants at the préfecture matching their days."""
    rows = [_case_row(number, case, settings=settings) for number, case in enumerate(cases)]
    session.execute(sa.insert(Case), rows)
    ids = {reference: case_id for reference, case_id in session.execute(_REFERENCES_AND_IDS)}
    waits = [
        {
            "case_id": ids[row["reference"]],
            "started_at": _noon(wait.started_on, settings=settings),
            "started_on": wait.started_on,
            "ended_at": wait.ended_on and _noon(wait.ended_on, settings=settings),
            "ended_on": wait.ended_on,
        }
        for row, case in zip(rows, cases, strict=True)
        for wait in case.days.waiting
    ]
    session.execute(sa.insert(WaitingPeriod), waits)
    merged = [row["reference"] for row, case in zip(rows, cases, strict=True) if case.merged]
    session.execute(
        sa.update(Case)
        .where(col(Case.reference).in_(merged))
        .values(merged_into_id=next(iter(ids.values())))
    )


def _case_row(number: int, case: ReferenceCase, *, settings: Settings) -> dict[str, object]:
    days = case.days
    return {
        "reference": f"REF-2026-{number:06d}",
        "channel": case.channel,
        "kind": case.kind,
        "subject": "Demande",
        "received_at": datetime.combine(days.received_on, time(12), tzinfo=settings.tzinfo),
        "received_on": days.received_on,
        "answered_at": days.answered_on and _noon(days.answered_on, settings=settings),
        "answered_on": days.answered_on,
        "holding_reply_at": days.holding_reply_on
        and _noon(days.holding_reply_on, settings=settings),
        "holding_reply_on": days.holding_reply_on,
        "closed_at": case.closed_on and _noon(case.closed_on, settings=settings),
        "closed_on": case.closed_on,
        "due_date": case.due_date,
    }


def _noon(day: date, *, settings: Settings) -> datetime:
    return datetime.combine(day, time(12), tzinfo=settings.tzinfo)
