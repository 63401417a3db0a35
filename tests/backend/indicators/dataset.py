"""A hand-built spring 2026 of a préfecture, whose indicators are worked out by hand in the tests.

Metropolitan holidays of the period: Easter Monday 6 April, 1 May, 8 May, Ascension 14 May,
Whit Monday 25 May. Times are at the préfecture (Europe/Paris, summer time from 29 March).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session

from backend.models import Case, CaseChannel, CaseKind, CaseStatus, WaitingPeriod

PARIS = ZoneInfo("Europe/Paris")
EMAIL, PAPER = CaseChannel.EMAIL, CaseChannel.PAPER
INFORMATION, COMPLAINT = CaseKind.INFORMATION_REQUEST, CaseKind.COMPLAINT


@dataclass(frozen=True)
class Spec:
    """One case as a person would describe it, days at the préfecture."""

    name: str
    channel: CaseChannel
    kind: CaseKind
    received: datetime  # local
    due: date
    answered: date | None = None
    closed: date | None = None
    holding_reply: date | None = None
    waiting: tuple[date, date] | None = None
    merged: bool = False


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A moment of that day at the préfecture."""
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


SPRING_2026: tuple[Spec, ...] = (
    # April: answers of 1, 1, 0, 7 and 3 working days.
    Spec("A", EMAIL, INFORMATION, local(date(2026, 4, 2)), date(2026, 4, 10), date(2026, 4, 3)),
    # Friday, then Tuesday after Easter Monday: 1 day.
    Spec("B", EMAIL, INFORMATION, local(date(2026, 4, 3)), date(2026, 4, 13), date(2026, 4, 7)),
    # Received on a Saturday, answered on the Tuesday (Monday is Easter Monday): 0 days.
    Spec("C", EMAIL, INFORMATION, local(date(2026, 4, 4)), date(2026, 4, 14), date(2026, 4, 7)),
    # Wednesday 1 to Monday 13 April, Easter Monday excluded: 7 days, late.
    Spec("D", EMAIL, INFORMATION, local(date(2026, 4, 1)), date(2026, 4, 9), date(2026, 4, 13)),
    Spec("E", EMAIL, COMPLAINT, local(date(2026, 4, 20)), date(2026, 4, 27), date(2026, 4, 23)),
    # Closed the next day without an answer (nothing to answer): never open at a month's end.
    Spec(
        "M",
        EMAIL,
        INFORMATION,
        local(date(2026, 4, 14)),
        date(2026, 4, 21),
        closed=date(2026, 4, 15),
    ),
    # The citizen wrote twice: merged into A, counted once (as A).
    Spec(
        "L",
        EMAIL,
        INFORMATION,
        local(date(2026, 4, 8)),
        date(2026, 4, 15),
        date(2026, 4, 9),
        merged=True,
    ),
    # May. A letter answered on 8 May, a holiday: 7 working days from Monday 27 April.
    Spec("F", PAPER, INFORMATION, local(date(2026, 4, 27)), date(2026, 5, 13), date(2026, 5, 8)),
    # 4 working days, of which 2 waiting for the citizen's documents (7 and 11 May): 2 days.
    Spec(
        "G",
        EMAIL,
        INFORMATION,
        local(date(2026, 5, 5)),
        date(2026, 5, 13),
        date(2026, 5, 12),
        waiting=(date(2026, 5, 6), date(2026, 5, 11)),
    ),
    # 00:30 on 1 May in Paris is still 30 April in UTC: received on the 1 May holiday, 0 days.
    Spec(
        "H", EMAIL, INFORMATION, local(date(2026, 5, 1), 0, 30), date(2026, 5, 11), date(2026, 5, 4)
    ),
    # A complaint by letter: 6 working days (Whit Monday excluded), over its target of 5.
    Spec("I", PAPER, COMPLAINT, local(date(2026, 5, 18)), date(2026, 5, 26), date(2026, 5, 27)),
    # Still open at the end of May (due 5 June) and of June (then late).
    Spec("J", EMAIL, INFORMATION, local(date(2026, 5, 29)), date(2026, 6, 5)),
    # June: nothing answered; two more received and still open.
    Spec("O", EMAIL, INFORMATION, local(date(2026, 6, 2)), date(2026, 6, 9)),
    Spec("Q", PAPER, INFORMATION, local(date(2026, 6, 17)), date(2026, 7, 1)),
    # Before the period: a letter from March, never answered, late since 30 March...
    Spec("K", PAPER, INFORMATION, local(date(2026, 3, 16)), date(2026, 3, 30)),
    # ... and an e-mail answered in March, which no month of the period counts.
    Spec("P", EMAIL, INFORMATION, local(date(2026, 3, 2)), date(2026, 3, 9), date(2026, 3, 3)),
)


def add_cases(
    session: Session, specs: tuple[Spec, ...] = SPRING_2026, *, first_number: int = 1
) -> dict[str, Case]:
    """The cases, with their days written by hand beside the instants."""
    cases: dict[str, Case] = {}
    for number, spec in enumerate(specs, start=first_number):
        case = Case(
            reference=f"TEST-2026-{number:06d}",
            channel=spec.channel,
            kind=spec.kind,
            subject=f"Dossier {spec.name}",
            received_at=spec.received.astimezone(UTC),
            received_on=spec.received.date(),
            due_date=spec.due,
            status=_status(spec),
        )
        if spec.answered:
            case.answered_at, case.answered_on = local(spec.answered, 15), spec.answered
        if spec.closed:
            case.closed_at, case.closed_on = local(spec.closed, 16), spec.closed
        if spec.holding_reply:
            case.holding_reply_at = local(spec.holding_reply, 11)
            case.holding_reply_on = spec.holding_reply
        session.add(case)
        session.flush()
        cases[spec.name] = case
        if spec.waiting:
            assert case.id is not None
            started, ended = spec.waiting
            session.add(
                WaitingPeriod(
                    case_id=case.id,
                    started_at=local(started, 9),
                    started_on=started,
                    ended_at=local(ended, 9),
                    ended_on=ended,
                )
            )
    merged = [spec.name for spec in specs if spec.merged]
    for name in merged:
        cases[name].merged_into_id = cases["A"].id
        cases[name].closed_at, cases[name].closed_on = local(date(2026, 4, 9)), date(2026, 4, 9)
    session.flush()
    return cases


def _status(spec: Spec) -> CaseStatus:
    if spec.merged or spec.closed:
        return CaseStatus.CLOSED
    return CaseStatus.ANSWERED if spec.answered else CaseStatus.NEW
