"""The demo year: what a person opening `make run` for the first time finds in it."""

from collections import Counter
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from backend.calendar.working_days import WorkingCalendar
from backend.cases.due_dates import target_days
from backend.cases.service import attach_scan
from backend.cases.workflow import AWAITING_ANSWER
from backend.cli.main import app
from backend.config import Environment, Settings
from backend.database import session_scope
from backend.demo.cli import load_on_first_run
from backend.demo.generator import CasePlan, DemoPlan, generate_demo
from backend.demo.loader import load_demo
from backend.indicators.delays import CaseDays, DelayRules, WaitingDays, case_delay
from backend.indicators.periods import months_between, parse_month
from backend.indicators.table import quality_table
from backend.models import (
    Case,
    CaseChannel,
    CaseKind,
    CaseStatus,
    Mailbox,
    Message,
    User,
    UserRole,
    WaitingPeriod,
)

runner = CliRunner()
UNTIL = date(2026, 10, 31)
YEAR = months_between(parse_month("2025-11"), parse_month("2026-10"))


@pytest.fixture(scope="module")
def plan(settings: Settings) -> DemoPlan:
    """The documented demo: seed 2026, ending on 31 October 2026."""
    return generate_demo(seed=2026, until=UNTIL, settings=settings)


def _cases_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Case)).one()


def _delay(case: CasePlan, *, settings: Settings) -> int | None:
    """The case's delay as the indicators count it."""
    days = CaseDays(
        received_on=settings.local_date(case.received_at),
        answered_on=settings.local_date(case.answered_at) if case.answered_at else None,
        waiting=[
            WaitingDays(
                settings.local_date(wait.started_at),
                settings.local_date(wait.ended_at) if wait.ended_at else None,
            )
            for wait in case.waits
        ],
    )
    return case_delay(days, rules=DelayRules.from_settings(settings))


def test_the_same_seed_and_day_give_the_same_year(plan: DemoPlan, settings: Settings) -> None:
    again = generate_demo(seed=2026, until=UNTIL, settings=settings)
    other_seed = generate_demo(seed=2027, until=UNTIL, settings=settings)

    assert again == plan
    assert other_seed.cases != plan.cases


def test_a_year_of_a_prefecture_s_mail_in_three_mailboxes(plan: DemoPlan) -> None:
    channels = Counter(case.channel for case in plan.cases)
    kinds = Counter(case.kind for case in plan.cases)
    total = len(plan.cases)

    assert [mailbox.slug for mailbox in plan.mailboxes] == ["contact", "sejour", "qualite"]
    assert 5500 <= total <= 6500
    assert (plan.first_day, plan.until) == (date(2025, 11, 1), UNTIL)
    assert 0.78 <= channels[CaseChannel.EMAIL] / total <= 0.88
    assert 0.10 <= channels[CaseChannel.PAPER] / total <= 0.15
    assert 0.02 <= channels[CaseChannel.SUGGESTION_BOX] / total <= 0.05
    assert 0.04 <= kinds[CaseKind.COMPLAINT] / total <= 0.07
    assert kinds[CaseKind.RESIDENCE] > kinds[CaseKind.SUGGESTION] > 0
    assert 0.03 <= sum(bool(case.waits) for case in plan.cases) / total <= 0.06
    assert sum(case.holding_reply_at is not None for case in plan.cases) > 50
    assert 2 <= sum(case.merged_into is not None for case in plan.cases) <= 3
    assert {agent.role for agent in plan.agents} == {
        UserRole.AGENT,
        UserRole.QUALITY_MANAGER,
        UserRole.ADMIN,
    }


def test_mondays_are_busy_august_is_quiet_and_paper_comes_on_working_days(
    plan: DemoPlan, settings: Settings
) -> None:
    calendar = WorkingCalendar(subdivision=settings.prefecture.holiday_subdivision)
    received = [settings.local_date(case.received_at) for case in plan.cases]
    emails_by_weekday = Counter(
        day.weekday()
        for day, case in zip(received, plan.cases, strict=True)
        if case.channel is CaseChannel.EMAIL
    )
    by_month = Counter(day.month for day in received)

    assert emails_by_weekday[0] == max(emails_by_weekday.values())
    assert emails_by_weekday[0] > 3 * emails_by_weekday[6]
    assert by_month[8] == min(by_month.values())
    assert all(
        calendar.is_working_day(day)
        for day, case in zip(received, plan.cases, strict=True)
        if case.channel is not CaseChannel.EMAIL
    )


def test_answers_come_in_office_hours_mostly_in_time_some_late(
    plan: DemoPlan, settings: Settings
) -> None:
    calendar = WorkingCalendar(subdivision=settings.prefecture.holiday_subdivision)
    answered = [case for case in plan.cases if case.answered_at and not case.merged_into]
    emails = [case for case in answered if case.channel is CaseChannel.EMAIL]
    late = [
        case
        for case in emails
        if (_delay(case, settings=settings) or 0)
        > target_days(channel=case.channel, kind=case.kind, targets=settings.delay_targets)
    ]

    assert all(
        case.answered_at is not None
        and calendar.is_working_day(settings.local_date(case.answered_at))
        and 9 <= case.answered_at.astimezone(settings.tzinfo).hour < 18
        for case in answered
    )
    assert 0.05 <= len(late) / len(emails) <= 0.12
    assert 1 <= sum(_delay(case, settings=settings) or 0 for case in emails) / len(emails) <= 4


def test_the_year_stops_as_the_office_opens_with_recent_and_forgotten_cases_open(
    plan: DemoPlan, settings: Settings
) -> None:
    cutoff = datetime.combine(UNTIL, time(8), tzinfo=settings.tzinfo)
    still_open = [case for case in plan.cases if case.status in AWAITING_ANSWER]
    forgotten = [case for case in still_open if (cutoff - case.received_at).days > 40]

    assert all(
        moment <= cutoff
        for case in plan.cases
        for moment in (case.received_at, case.answered_at, case.closed_at, case.holding_reply_at)
        if moment is not None
    )
    assert {case.status for case in still_open} == AWAITING_ANSWER
    assert 5 <= len(forgotten) <= 7
    assert all(case.answered_at is None for case in still_open)
    assert all(
        case.status is CaseStatus.CLOSED and not case.messages
        for case in plan.cases
        if case.merged_into is not None
    )
    assert any(
        case.status is CaseStatus.CLOSED
        and case.answered_at is None
        and case.kind is CaseKind.OTHER
        for case in plan.cases
    )


def test_the_loaded_year_gives_a_plausible_quality_table(
    session: Session, plan: DemoPlan, settings: Settings
) -> None:
    load_demo(session, plan=plan, settings=settings)

    table = quality_table(session, months=YEAR, settings=settings)

    email_delay, letter_delay, complaint_delay, email_rate = table.rows
    assert email_rate.label == "Taux de réponse aux courriels sous 5 jours"
    assert all(value is not None and 1 <= value <= 4 for value in email_delay.values)
    assert all(value is not None and 80 <= value <= 98 for value in email_rate.values)
    assert all(value is not None and value <= 10 for value in letter_delay.values)
    assert all(value is not None for value in complaint_delay.values)
    # Half the staff on leave: August answers the fewest e-mails within 5 days.
    assert email_rate.values[9] == min(value or Decimal(100) for value in email_rate.values)


def test_the_loaded_year_is_stored_as_the_application_stores_its_own(
    session: Session, plan: DemoPlan, settings: Settings
) -> None:
    load_demo(session, plan=plan, settings=settings)
    cases = session.exec(select(Case).order_by(col(Case.id))).all()
    mailboxes = session.exec(select(Mailbox).order_by(col(Mailbox.id))).all()
    waits = session.exec(select(WaitingPeriod)).all()
    letter = next(case for case in cases if case.channel is CaseChannel.PAPER)
    agent = session.exec(select(User).where(col(User.role) == UserRole.AGENT)).first()
    assert agent is not None
    version = letter.version

    # The letter's Message-ID is the one registering it gives: its scan finds it.
    attach_scan(session, case=letter, pdf=b"%PDF-1.4 demo", actor=agent, settings=settings)

    assert letter.version == version + 1
    assert len(cases) == len(plan.cases)
    assert [(m.slug, m.address, m.enabled) for m in mailboxes] == [
        ("contact", "prefecture@gers.gouv.fr", False),
        ("sejour", "pref-sejour@gers.gouv.fr", False),
        ("qualite", "pref-qualite@gers.gouv.fr", False),
    ]
    assert all(
        case.received_on == settings.local_date(case.received_at)
        and (case.answered_at is None or case.answered_on == settings.local_date(case.answered_at))
        and (case.closed_at is None or case.closed_on == settings.local_date(case.closed_at))
        and (case.answered_at is None) == (case.answer_channel is None)
        and case.due_date is not None
        for case in cases
    )
    assert all(wait.started_on == settings.local_date(wait.started_at) for wait in waits)
    assert sum(case.merged_into_id is not None for case in cases) in {2, 3}
    assert session.exec(select(func.count()).select_from(Message)).one() == sum(
        len(case.messages) for case in plan.cases
    )


def test_the_command_fills_an_empty_database_once(committed_engine: Engine) -> None:
    loaded = runner.invoke(app, ["demo", "--until", UNTIL.isoformat()])
    cases = _cases_count(committed_engine)
    again = runner.invoke(app, ["demo", "--until", UNTIL.isoformat()])
    if_empty = runner.invoke(app, ["demo", "--if-empty"])

    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.startswith("Données de démonstration chargées (graine 2026) : ")
    assert "du 01/11/2025 au 31/10/2026" in loaded.output
    assert len(loaded.output.strip().splitlines()) == 1
    assert again.exit_code == 1
    assert "la base contient déjà des dossiers" in again.output
    assert (if_empty.exit_code, if_empty.output) == (0, "")
    assert _cases_count(committed_engine) == cases


def test_the_command_refuses_a_day_still_to_come(committed_engine: Engine) -> None:
    result = runner.invoke(app, ["demo", "--until", "2999-01-01"])

    assert result.exit_code == 2
    assert "postérieur à aujourd'hui" in result.output
    assert _cases_count(committed_engine) == 0


def test_run_loads_the_demo_once_and_never_in_production(
    committed_engine: Engine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    turned_off = settings.model_copy(update={"demo_data": False})

    load_on_first_run(settings=production)
    load_on_first_run(settings=turned_off)
    nothing_loaded = _cases_count(committed_engine)
    load_on_first_run(settings=settings)
    first = capsys.readouterr().out
    load_on_first_run(settings=settings)

    assert nothing_loaded == 0
    assert first.startswith("Données de démonstration chargées")
    assert "QUALIPREF_DEMO_DATA=false" in first
    assert capsys.readouterr().out == ""
    with session_scope(committed_engine) as session:
        last = session.exec(select(func.max(Case.received_on))).one()
    assert last is not None
    assert last <= settings.today()
