"""A case as its readers see it: the stored row plus its delay so far, its days left and what
may be done to it, computed on one calendar and one today."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session

from backend.calendar.working_days import days_left
from backend.cases.repository import waiting_days
from backend.cases.schemas import CasePublic
from backend.cases.workflow import AWAITING_ANSWER, allowed_operations
from backend.config import Settings
from backend.indicators.delays import CaseDays, DelayRules, WaitingDays, case_delay
from backend.models import Case


def public_case(session: Session, case: Case, *, settings: Settings) -> CasePublic:
    """The case with its computed delay fields."""
    return public_cases(session, [case], settings=settings)[0]


def public_cases(
    session: Session, cases: Sequence[Case], *, settings: Settings
) -> list[CasePublic]:
    """Cases with their computed delay fields, on one calendar and one today."""
    rules = DelayRules.from_settings(settings)
    today = settings.today()
    waits = waiting_days(session, case_ids=[case.id for case in cases if case.id is not None])
    return [
        _with_delays(case, waiting=waits.get(case.id or 0, ()), rules=rules, today=today)
        for case in cases
    ]


def _with_delays(
    case: Case, *, waiting: Sequence[WaitingDays], rules: DelayRules, today: date
) -> CasePublic:
    """One case, its working days elapsed (the indicators' delay, so far) and left."""
    days = CaseDays(case.received_on, case.answered_on, case.holding_reply_on, waiting)
    due = case.due_date if case.status in AWAITING_ANSWER else None
    values: dict[str, Any] = {
        **case.model_dump(),
        "working_days_elapsed": case_delay(days, rules=rules, today=today),
        "days_left": days_left(today=today, due=due, calendar=rules.calendar) if due else None,
        "allowed_operations": [operation.value for operation in allowed_operations(case.status)],
    }
    return CasePublic.model_validate(values)
