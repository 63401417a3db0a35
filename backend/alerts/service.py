"""The daily overdue alert: which open cases of each service are late or due on the next working
day, and the one e-mail per service that lists them, queued in the outbox."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.calendar.working_days import WorkingCalendar, days_left
from backend.cases.workflow import AWAITING_ANSWER
from backend.config import Settings
from backend.database import in_list_chunks
from backend.letters.rendering import render_email
from backend.mail.compose import OutgoingEmail
from backend.mail.message import ParsedAddress
from backend.models import (
    Case,
    Mailbox,
    OutboxEmail,
    OutboxPurpose,
    Service,
    ServiceMembership,
    User,
)
from backend.outbox.service import EmailToQueue, queue_emails
from backend.storage.filestore import FileStore

TEMPLATE = "alerte-retards"
# An automatic message, not a reply (RFC 3834): out-of-office responders leave it alone.
ALERT_HEADERS = (
    ("Auto-Submitted", "auto-generated"),
    ("X-Auto-Response-Suppress", "All"),
    ("Content-Language", "fr"),
)
UNKNOWN_SENDER = "expéditeur inconnu"


@dataclass(frozen=True, slots=True)
class AlertedCase:
    """One line of an alert."""

    reference: str
    subject: str
    sender: str
    received_at: datetime
    due_date: date
    days_late: int  # working days (calendar days in that mode); 0 for a case not yet late
    assignee: str | None


@dataclass(frozen=True, slots=True)
class ServiceAlert:
    """What one service is told on a day: its late cases, oldest due first, and those due next."""

    day: date
    next_working_day: date
    service_id: int
    service_name: str
    recipients: tuple[ParsedAddress, ...]
    late: tuple[AlertedCase, ...]
    due_next: tuple[AlertedCase, ...]


def overdue_alerts(session: Session, *, settings: Settings, today: date) -> list[ServiceAlert]:
    """Each service with an e-mail address and something late or due next; none on a day off."""
    calendar = WorkingCalendar.from_settings(settings)
    if not calendar.is_working_day(today):
        return []
    next_day = calendar.add_working_days(day=today, count=1)
    # A case without a service of its own belongs to its mailbox's (given one after it came in).
    owner_id = func.coalesce(col(Case.service_id), col(Mailbox.service_id))
    due = col(Case.due_date)
    rows = session.exec(
        select(Case, Service, col(User.first_name), col(User.last_name))
        .outerjoin(Mailbox, col(Mailbox.id) == col(Case.mailbox_id))
        .join(Service, col(Service.id) == owner_id)
        .outerjoin(User, col(User.id) == col(Case.assignee_id))
        .where(col(Case.merged_into_id).is_(None))
        .where(col(Case.status).in_(list(AWAITING_ANSWER)))
        .where(col(Service.email).is_not(None), col(Service.email) != "")
        # Due by the next working day, not today: on a Friday, a case due on Saturday is listed
        # with Monday's (the due date of a case is a working day unless the calendar changed).
        .where(or_(due < today, and_(due > today, due <= next_day)))
        .order_by(col(Service.id), due, col(Case.received_at), col(Case.id))
    ).all()
    alerts: dict[int, tuple[Service, list[AlertedCase], list[AlertedCase]]] = {}
    for case, service, first_name, last_name in rows:
        assert service.id is not None
        assert case.due_date is not None
        _, late, due_next = alerts.setdefault(service.id, (service, [], []))
        left = days_left(today=today, due=case.due_date, calendar=calendar)
        line = AlertedCase(
            reference=case.reference,
            subject=case.subject,
            sender=_sender(case),
            received_at=case.received_at,
            due_date=case.due_date,
            days_late=max(-left, 0),
            assignee=f"{first_name} {last_name}" if first_name else None,
        )
        (late if case.due_date < today else due_next).append(line)
    polled = _mailbox_addresses(session)
    return [
        ServiceAlert(
            day=today,
            next_working_day=next_day,
            service_id=service_id,
            service_name=service.name,
            recipients=_recipients(session, service=service, polled=polled),
            late=tuple(late),
            due_next=tuple(due_next),
        )
        for service_id, (service, late, due_next) in alerts.items()
    ]


def _mailbox_addresses(session: Session) -> set[str]:
    """The addresses of the mailboxes Qualipref polls."""
    return {address.lower() for address in session.exec(select(Mailbox.address))}


def _recipients(
    session: Session, *, service: Service, polled: set[str]
) -> tuple[ParsedAddress, ...]:
    """The service's address; its agents' when that address is a polled mailbox.

    An alert sent to a mailbox Qualipref polls would come back as a new case every morning.
    """
    assert service.email is not None
    if service.email.lower() not in polled:
        return (ParsedAddress(name=service.name, address=service.email),)
    members = session.exec(
        select(User)
        .join(ServiceMembership, col(ServiceMembership.user_id) == col(User.id))
        .where(col(ServiceMembership.service_id) == service.id, col(User.is_active).is_(True))
        .order_by(col(User.email))
    ).all()
    return tuple(
        ParsedAddress(name=f"{user.first_name} {user.last_name}", address=user.email)
        for user in members
    )


def queue_overdue_alerts(session: Session, *, settings: Settings, today: date) -> list[int]:
    """Queue today's alert of every service that has not had it yet; the new outbox ids."""
    alerts = overdue_alerts(session, settings=settings, today=today)
    sender = ParsedAddress(name=settings.prefecture.name, address=settings.prefecture.email)
    message_ids = {
        alert.service_id: alert_message_id(service_id=alert.service_id, day=today, sender=sender)
        for alert in alerts
    }
    already_queued = _existing_message_ids(session, message_ids=list(message_ids.values()))
    file_store = FileStore(settings.file_store_dir)
    outbox_ids: list[int] = []
    for alert in alerts:
        message_id = message_ids[alert.service_id]
        if message_id in already_queued or not alert.recipients:
            continue
        email = _email(alert, message_id=message_id, sender=sender, settings=settings)
        # Once per service and day: a later run finds its Message-ID above; a concurrent run's
        # insert waits on the Message-ID's unique index, then fails and undoes only this savepoint.
        try:
            with session.begin_nested():
                outbox_ids += queue_emails(session, emails=[email], file_store=file_store)
        except IntegrityError:
            continue
    return outbox_ids


def alert_message_id(*, service_id: int, day: date, sender: ParsedAddress) -> str:
    """The Message-ID of a service's alert of a day, the same on every run of that day."""
    domain = sender.address.rpartition("@")[2] or "qualipref.invalid"
    return f"qualipref.alerte-retards.{day:%Y%m%d}.service-{service_id}@{domain}"


def _existing_message_ids(session: Session, *, message_ids: Sequence[str]) -> set[str]:
    """Those of these Message-IDs the outbox already holds."""
    found: set[str] = set()
    for chunk in in_list_chunks(message_ids):
        found.update(
            session.exec(
                select(OutboxEmail.rfc_message_id).where(col(OutboxEmail.rfc_message_id).in_(chunk))
            ).all()
        )
    return found


def _email(
    alert: ServiceAlert,
    *,
    message_id: str,
    sender: ParsedAddress,
    settings: Settings,
) -> EmailToQueue:
    """The service's alert, rendered from the alerte-retards templates."""
    context: dict[str, Any] = {
        "service": {"name": alert.service_name},
        "today": alert.day,
        "next_working_day": alert.next_working_day,
        "next_working_day_is_tomorrow": (alert.next_working_day - alert.day).days == 1,
        "working_days": not WorkingCalendar.from_settings(settings).counts_calendar_days,
        "late_cases": [_case_context(line) for line in alert.late],
        "due_cases": [_case_context(line) for line in alert.due_next],
        "prefecture": {"name": settings.prefecture.name},
    }
    rendered = render_email(settings=settings, template=TEMPLATE, context=context)
    email = OutgoingEmail(
        sender=sender,
        to=alert.recipients,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id,
        date=datetime.now(settings.tzinfo),
        extra_headers=ALERT_HEADERS,
    )
    return EmailToQueue(email=email, purpose=OutboxPurpose.ALERT, case_id=None)


def _case_context(line: AlertedCase) -> dict[str, Any]:
    """One case as the templates see it (see letter_templates/alerte-retards/manifest.toml)."""
    return {
        "reference": line.reference,
        "subject": line.subject,
        "sender": line.sender,
        "received_at": line.received_at,
        "due_date": line.due_date,
        "days_late": line.days_late,
        "assignee": line.assignee,
    }


def _sender(case: Case) -> str:
    """'Camille Martin <camille.martin@example.org>', the name or the address alone, or unknown."""
    if case.sender_name and case.sender_email:
        return f"{case.sender_name} <{case.sender_email}>"
    return case.sender_name or case.sender_email or UNKNOWN_SENDER
