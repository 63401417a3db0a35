"""Months that are over are kept, and any later change to their cases shows in their figures."""

from datetime import date

import sqlalchemy as sa
from celery import Celery
from celery.schedules import crontab
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.database import session_scope
from backend.indicators.periods import months_between, parse_month
from backend.indicators.queries import Dimension
from backend.indicators.service import IndicatorGroup, IndicatorRequest, compute_indicators
from backend.models import Case, CaseKind, IndicatorMonthCache, WaitingPeriod
from tests.backend.indicators.dataset import COMPLAINT, PAPER, Spec, add_cases, local
from workers.schedule import beat_schedule

SPRING = months_between(parse_month("2026-04"), parse_month("2026-06"))
AFTER_SPRING = date(2026, 7, 15)


def test_months_over_are_kept_and_the_month_in_progress_is_not(
    session: Session, settings: Settings
) -> None:
    add_cases(session)

    computed = _indicators(session, settings, today=date(2026, 6, 10))
    read_back = _indicators(session, settings, today=date(2026, 6, 10))

    assert _kept(session) == {"2026-04", "2026-05"}
    assert read_back == computed
    assert [(month.received, month.answered) for month in read_back] == [(7, 5), (4, 4), (2, 0)]


def test_an_answer_recorded_late_changes_only_the_months_from_its_day(
    session: Session, settings: Settings
) -> None:
    cases = add_cases(session)
    _indicators(session, settings)
    kept_before = _kept_ids(session)

    # J, received on 29 May and open until now, answered on 3 June (3 working days).
    cases["J"].answered_on = date(2026, 6, 3)
    session.flush()
    june = _indicators(session, settings)[2]

    assert (june.answered, june.delay_total, june.open_at_end) == (1, 3, 3)
    assert _kept_ids(session)["2026-04"] == kept_before["2026-04"]
    assert _kept_ids(session)["2026-05"] == kept_before["2026-05"]


def test_a_case_reclassified_as_a_complaint_moves_in_its_months(
    session: Session, settings: Settings
) -> None:
    cases = add_cases(session)
    _indicators(session, settings, dimensions=("kind",))

    cases["A"].kind = CaseKind.COMPLAINT
    session.flush()
    april = [
        group
        for group in _indicators(session, settings, dimensions=("kind",))
        if group.month == "2026-04"
    ]

    assert {group.kind: group.answered for group in april} == {
        CaseKind.COMPLAINT: 2,
        CaseKind.INFORMATION_REQUEST: 3,
    }


def test_a_letter_registered_afterwards_counts_in_the_month_it_arrived(
    session: Session, settings: Settings
) -> None:
    add_cases(session)
    _indicators(session, settings)

    late_letter = Spec("R", PAPER, COMPLAINT, local(date(2026, 4, 28)), date(2026, 5, 5))
    add_cases(session, (late_letter,), first_number=100)
    april, may, june = _indicators(session, settings)

    assert (april.received, april.open_at_end) == (8, 3)
    assert (may.open_at_end, may.past_due_at_end) == (3, 2)
    assert june.open_at_end == 5


def test_a_wait_recorded_afterwards_shortens_the_delay(
    session: Session, settings: Settings
) -> None:
    cases = add_cases(session)
    _indicators(session, settings)

    # D waited for documents from Thursday 2 to Wednesday 8 April: 3 working days off its 7.
    assert cases["D"].id is not None
    session.add(
        WaitingPeriod(
            case_id=cases["D"].id,
            started_at=local(date(2026, 4, 2)),
            started_on=date(2026, 4, 2),
            ended_at=local(date(2026, 4, 8)),
            ended_on=date(2026, 4, 8),
        )
    )
    session.flush()
    april = _indicators(session, settings)[0]

    assert (april.delay_total, april.within_target) == (9, 5)


def test_a_change_made_in_plain_sql_is_seen_too(session: Session, settings: Settings) -> None:
    cases = add_cases(session)
    _indicators(session, settings)

    # An administrator's fix in psql: E's answer was in fact given on Friday 24 April.
    session.execute(
        sa.update(Case).where(col(Case.id) == cases["E"].id).values(answered_on=date(2026, 4, 24))
    )
    session.execute(sa.text("DELETE FROM waiting_periods"))
    april, may, _ = _indicators(session, settings)

    assert april.delay_total == 13
    assert may.delay_total == 17


def test_reading_the_kept_months_again_computes_nothing_new(
    session: Session, settings: Settings
) -> None:
    add_cases(session)
    _indicators(session, settings)
    kept_before = _kept_ids(session)

    # A new letter today changes no month that is over.
    add_cases(
        session, (Spec("S", PAPER, COMPLAINT, local(AFTER_SPRING), AFTER_SPRING),), first_number=100
    )
    _indicators(session, settings)

    assert _kept_ids(session) == kept_before


def _indicators(
    session: Session,
    settings: Settings,
    *,
    today: date = AFTER_SPRING,
    dimensions: tuple[str, ...] = (),
) -> list[IndicatorGroup]:
    request = IndicatorRequest(
        months=SPRING,
        dimensions=tuple(Dimension(dimension) for dimension in dimensions),
    )
    return compute_indicators(session, request=request, settings=settings, today=today)


def _kept(session: Session) -> set[str]:
    return set(_kept_ids(session))


def _kept_ids(session: Session) -> dict[str, int | None]:
    rows = session.exec(select(IndicatorMonthCache.month, IndicatorMonthCache.id))
    return dict(rows.all())


def test_each_night_a_worker_computes_the_months_over_of_the_default_year(
    celery_worker_app: Celery, committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        add_cases(session)

    kept = celery_worker_app.send_task("qualipref.refresh_indicators").get(timeout=60)

    entry = beat_schedule(settings)["refresh-indicators"]
    assert (entry["task"], entry["schedule"]) == (
        "qualipref.refresh_indicators",
        crontab(hour=5, minute=30),
    )
    # Eleven months over for the quality table's grouping, and as many per service.
    assert kept == 22
    with session_scope(committed_engine) as session:
        assert len(_kept(session)) == 11
