"""When a case must be answered: its channel's or kind's target, in the one working-day calendar."""

from datetime import date, datetime

from backend.calendar.working_days import WorkingCalendar
from backend.config import DelayTargets, Settings
from backend.models import Case, CaseChannel, CaseKind


def target_days(*, channel: CaseChannel, kind: CaseKind, targets: DelayTargets) -> int:
    """A complaint's target whatever its channel, else the channel's."""
    if kind is CaseKind.COMPLAINT:
        return targets.complaint
    return {
        CaseChannel.EMAIL: targets.email,
        CaseChannel.PAPER: targets.paper,
        CaseChannel.SUGGESTION_BOX: targets.suggestion_box,
    }[channel]


def due_date(
    *, received_at: datetime, channel: CaseChannel, kind: CaseKind, settings: Settings
) -> date:
    """The last day on which an answer keeps the promise."""
    return WorkingCalendar.from_settings(settings).due_date(
        received=settings.local_date(received_at),
        target_days=target_days(channel=channel, kind=kind, targets=settings.delay_targets),
    )


def due_date_for(case: Case, *, kind: CaseKind, settings: Settings) -> date:
    """The due date of a case of this kind."""
    return due_date(
        received_at=case.received_at, channel=case.channel, kind=kind, settings=settings
    )
