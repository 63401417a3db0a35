"""Overdue alerts as a service reads them: queued, delivered to the file outbox, read back."""

import email
import email.policy
import itertools
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage

import pytest
from celery import Celery
from celery.schedules import crontab
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.alerts.service import queue_overdue_alerts
from backend.calendar.working_days import WorkingCalendar
from backend.cases.service import merge
from backend.config import Settings
from backend.database import session_scope
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.models import (
    Case,
    CaseStatus,
    Mailbox,
    OutboxEmail,
    OutboxPurpose,
    Service,
    ServiceMembership,
    User,
)
from tests.backend.acknowledgements.test_acknowledgements import deliver_all
from tests.fixtures.users import make_agent
from workers.app import create_celery_app
from workers.schedule import beat_schedule

REFERENCE = re.compile(r"GERS-\d{4}-\d{6}")
SEJOUR_EMAIL = "pref-sejour@gers.gouv.fr"
ACCUEIL_EMAIL = "pref-accueil@gers.gouv.fr"
# November 2026: Wednesday 11 is Armistice Day, a public holiday.
TUESDAY_BEFORE_HOLIDAY = date(2026, 11, 10)
FRIDAY = date(2026, 11, 13)
SATURDAY = date(2026, 11, 14)
THURSDAY = date(2026, 11, 19)
_case_numbers = itertools.count(1)


@dataclass(frozen=True)
class Sent:
    """One delivered alert as its service reads it."""

    message: EmailMessage

    @property
    def recipient(self) -> str:
        return str(self.message["To"].addresses[0].addr_spec)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert isinstance(part, EmailMessage)
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert isinstance(part, EmailMessage)
        return str(part.get_content())

    @property
    def late(self) -> list[str]:
        """The references listed as late, in order."""
        return REFERENCE.findall(self.text.partition("\nÀ échéance")[0])

    @property
    def due_next(self) -> list[str]:
        """The references listed as due on the next working day, in order."""
        return REFERENCE.findall(self.text.partition("\nÀ échéance")[2])


def send_alerts(engine: Engine, settings: Settings, *, today: date) -> dict[str, Sent]:
    """What the daily task does on that day, then what the outbox delivers, by recipient."""
    with session_scope(engine) as session:
        outbox_ids = queue_overdue_alerts(session, settings=settings, today=today)
    deliver_all(settings, engine)
    sent = [Sent(read_delivered(settings, outbox_id=outbox_id)) for outbox_id in outbox_ids]
    return {alert.recipient: alert for alert in sent}


def read_delivered(settings: Settings, *, outbox_id: int) -> EmailMessage:
    """The e-mail as the file outbox wrote it."""
    raw = (settings.outbox_dir / f"{outbox_id:08d}.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def sent_alerts(engine: Engine) -> list[OutboxEmail]:
    """Every alert in the outbox."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(OutboxEmail).where(col(OutboxEmail.purpose) == OutboxPurpose.ALERT)
            ).all()
        )


def add_service(session: Session, *, name: str, email_address: str | None) -> Service:
    service = Service(slug=f"service-{next(_case_numbers)}", name=name, email=email_address)
    session.add(service)
    session.flush()
    return service


def add_case(
    session: Session,
    *,
    service: Service | None,
    due: date,
    status: CaseStatus = CaseStatus.NEW,
    received_on: date | None = None,
    mailbox: Mailbox | None = None,
    assignee: User | None = None,
    subject: str = "Renouvellement de titre de séjour",
) -> Case:
    """A case of the service due on that day, received a week before unless told."""
    received_on = received_on or due - timedelta(days=7)
    case = Case(
        reference=f"GERS-2026-{next(_case_numbers):06d}",
        subject=subject,
        status=status,
        service_id=service.id if service else None,
        mailbox_id=mailbox.id if mailbox else None,
        assignee_id=assignee.id if assignee else None,
        sender_name="Camille Martin",
        sender_email="camille.martin@example.org",
        received_at=datetime.combine(received_on, time(9, 30), tzinfo=UTC),
        received_on=received_on,
        due_date=due,
    )
    session.add(case)
    session.flush()
    return case


def add_mailbox(session: Session, *, service: Service) -> Mailbox:
    """A functional mailbox given to the service."""
    return create_mailbox(
        session,
        mailbox_in=MailboxCreate(
            slug=f"sejour-{next(_case_numbers)}",
            address="pref-sejour-etrangers@gers.gouv.fr",
            imap_host="127.0.0.1",
            imap_username="sejour",
            password_env="SEJOUR_IMAP_PASSWORD",
            start_date=date(2026, 1, 1),
            service_id=service.id,
        ),
    )


def test_each_service_gets_one_email_listing_its_late_and_due_tomorrow_cases(
    committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        sejour = add_service(session, name="Bureau du séjour", email_address=SEJOUR_EMAIL)
        accueil = add_service(session, name="Accueil général", email_address=ACCUEIL_EMAIL)
        agent = make_agent(session).user
        late_2_days = add_case(session, service=sejour, due=date(2026, 11, 17))
        late_5_days = add_case(
            session, service=sejour, due=date(2026, 11, 12), received_on=date(2026, 11, 2)
        )
        waiting = add_case(
            session, service=sejour, due=date(2026, 11, 18), status=CaseStatus.WAITING_CITIZEN
        )
        # No service of its own: it came through the séjour mailbox.
        from_mailbox = add_case(
            session,
            service=None,
            mailbox=add_mailbox(session, service=sejour),
            due=date(2026, 11, 16),
        )
        due_tomorrow = add_case(
            session,
            service=sejour,
            due=date(2026, 11, 20),
            status=CaseStatus.ASSIGNED,
            assignee=agent,
        )
        due_today = add_case(session, service=sejour, due=THURSDAY)
        due_monday = add_case(session, service=sejour, due=date(2026, 11, 23))
        closed = add_case(session, service=sejour, due=date(2026, 11, 10), status=CaseStatus.CLOSED)
        answered = add_case(
            session, service=sejour, due=date(2026, 11, 10), status=CaseStatus.ANSWERED
        )
        accueil_case = add_case(session, service=accueil, due=date(2026, 11, 18))

    sent = send_alerts(committed_engine, settings, today=THURSDAY)

    assert sorted(sent) == [ACCUEIL_EMAIL, SEJOUR_EMAIL]
    alert = sent[SEJOUR_EMAIL]
    assert alert.subject == (
        "Qualipref — 4 dossiers en retard, 1 à échéance demain (Bureau du séjour)"
    )
    assert alert.late == [
        late_5_days.reference,
        from_mailbox.reference,
        late_2_days.reference,
        waiting.reference,
    ]
    assert alert.due_next == [due_tomorrow.reference]
    for absent in (due_today, due_monday, closed, answered, accueil_case):
        assert absent.reference not in alert.text
        assert absent.reference not in alert.html
    assert sent[ACCUEIL_EMAIL].late == [accueil_case.reference]
    assert sent[ACCUEIL_EMAIL].subject == "Qualipref — 1 dossier en retard (Accueil général)"
    assert "reçu le 2 novembre 2026" in alert.text
    assert "Échéance : 12 novembre 2026 ; 5 jours ouvrés de retard" in alert.text
    assert "Échéance : 18 novembre 2026 ; 1 jour ouvré de retard" in alert.text
    assert "Camille Martin <camille.martin@example.org>" in alert.text
    assert "À échéance demain, le 20 novembre 2026 (1)" in alert.text
    assert f"Attribué à {agent.first_name} {agent.last_name}" in alert.text
    for shown in ("5 jours ouvrés", "20 novembre 2026", "Camille Martin &lt;camille.martin@"):
        assert shown in alert.html
    assert alert.message["From"].addresses[0].addr_spec == settings.prefecture.email
    assert alert.message["Auto-Submitted"] == "auto-generated"


def test_a_service_whose_address_is_a_polled_mailbox_is_alerted_through_its_agents(
    committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        sejour = add_service(
            session, name="Bureau du séjour", email_address="PREF-SEJOUR-ETRANGERS@gers.gouv.fr"
        )
        add_mailbox(session, service=sejour)
        agents = [make_agent(session, first_name=name).user for name in ("Alice", "Bruno")]
        assert sejour.id is not None
        session.add_all(
            ServiceMembership(user_id=agent.id or 0, service_id=sejour.id) for agent in agents
        )
        late = add_case(session, service=sejour, due=date(2026, 11, 17))

    sent = send_alerts(committed_engine, settings, today=THURSDAY)

    # Sent to the mailbox itself, the alert would come back as a new case every morning.
    (alert,) = sent.values()
    assert sorted(address.addr_spec for address in alert.message["To"].addresses) == sorted(
        agent.email for agent in agents
    )
    assert alert.late == [late.reference]


def test_merged_cases_are_listed_once_under_the_case_they_joined(
    committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        sejour = add_service(session, name="Bureau du séjour", email_address=SEJOUR_EMAIL)
        agent = make_agent(session).user
        first = add_case(session, service=sejour, due=date(2026, 11, 9))
        second = add_case(session, service=sejour, due=date(2026, 11, 12))
        merge(session, target=first, source=second, actor=agent, settings=settings)

    sent = send_alerts(committed_engine, settings, today=THURSDAY)

    assert sent[SEJOUR_EMAIL].late == [first.reference]
    assert second.reference not in sent[SEJOUR_EMAIL].text


@pytest.mark.parametrize(
    "day_off",
    [SATURDAY, date(2026, 7, 14), date(2026, 11, 11)],
    ids=["saturday", "14-july", "11-november"],
)
def test_nothing_is_sent_on_a_weekend_or_a_public_holiday(
    committed_engine: Engine, settings: Settings, day_off: date
) -> None:
    with session_scope(committed_engine) as session:
        sejour = add_service(session, name="Bureau du séjour", email_address=SEJOUR_EMAIL)
        add_case(session, service=sejour, due=date(2026, 7, 1))
        add_case(session, service=sejour, due=day_off + timedelta(days=1))

    assert send_alerts(committed_engine, settings, today=day_off) == {}
    assert sent_alerts(committed_engine) == []


@pytest.mark.parametrize(
    ("today", "next_working_day"),
    [(FRIDAY, date(2026, 11, 16)), (TUESDAY_BEFORE_HOLIDAY, date(2026, 11, 12))],
    ids=["friday-lists-monday", "eve-of-holiday-lists-the-day-after"],
)
def test_due_next_means_the_next_working_day(
    committed_engine: Engine, settings: Settings, today: date, next_working_day: date
) -> None:
    with session_scope(committed_engine) as session:
        sejour = add_service(session, name="Bureau du séjour", email_address=SEJOUR_EMAIL)
        due_next = add_case(session, service=sejour, due=next_working_day)
        later = add_case(session, service=sejour, due=next_working_day + timedelta(days=1))

    alert = send_alerts(committed_engine, settings, today=today)[SEJOUR_EMAIL]

    assert alert.late == []
    assert alert.due_next == [due_next.reference]
    assert later.reference not in alert.text
    day = f"{next_working_day.day} novembre 2026"
    assert alert.subject == f"Qualipref — 1 dossier à échéance le {day} (Bureau du séjour)"
    assert f"À échéance le prochain jour ouvré, le {day} (1)" in alert.text


def test_running_twice_the_same_day_sends_once_and_the_next_day_again(
    committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        sejour = add_service(session, name="Bureau du séjour", email_address=SEJOUR_EMAIL)
        add_case(session, service=sejour, due=date(2026, 11, 12))

    first = send_alerts(committed_engine, settings, today=THURSDAY)
    again = send_alerts(committed_engine, settings, today=THURSDAY)
    next_day = send_alerts(committed_engine, settings, today=date(2026, 11, 20))

    assert list(first) == [SEJOUR_EMAIL]
    assert again == {}
    assert list(next_day) == [SEJOUR_EMAIL]
    assert len(sent_alerts(committed_engine)) == 2


def test_two_runs_at_the_same_moment_send_once(
    committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        sejour = add_service(session, name="Bureau du séjour", email_address=SEJOUR_EMAIL)
        add_case(session, service=sejour, due=date(2026, 11, 12))
    second_run: list[list[int]] = []

    def run_again() -> None:
        with session_scope(committed_engine) as session:
            second_run.append(queue_overdue_alerts(session, settings=settings, today=THURSDAY))

    with session_scope(committed_engine) as session:
        first_run = queue_overdue_alerts(session, settings=settings, today=THURSDAY)
        other_worker = threading.Thread(target=run_again)
        other_worker.start()
        # It waits for this transaction: at BEGIN on SQLite, at the insert on PostgreSQL.
        other_worker.join(timeout=0.5)
        assert other_worker.is_alive()
    other_worker.join(timeout=30)

    assert len(first_run) == 1
    assert second_run == [[]]
    assert len(sent_alerts(committed_engine)) == 1


def test_a_service_without_email_or_without_anything_due_gets_nothing(
    committed_engine: Engine, settings: Settings
) -> None:
    with session_scope(committed_engine) as session:
        no_address = add_service(session, name="Bureau des élections", email_address=None)
        add_case(session, service=no_address, due=date(2026, 11, 12))
        nothing_due = add_service(session, name="Accueil général", email_address=ACCUEIL_EMAIL)
        add_case(session, service=nothing_due, due=date(2026, 11, 30))
        add_case(session, service=None, due=date(2026, 11, 12))

    assert send_alerts(committed_engine, settings, today=THURSDAY) == {}
    assert sent_alerts(committed_engine) == []


def test_beat_runs_the_alerts_every_day_at_the_configured_local_time(settings: Settings) -> None:
    entry = beat_schedule(settings)["send-overdue-alerts"]
    later = Settings(overdue_alert_time="8:05")

    assert entry["task"] == "qualipref.send_overdue_alerts"
    assert entry["schedule"] == crontab(hour=7, minute=30)
    assert beat_schedule(later)["send-overdue-alerts"]["schedule"] == crontab(hour=8, minute=5)
    assert create_celery_app(settings).conf.timezone == "Europe/Paris"
    for wrong in ("25:00", "7h30", "07:60"):
        with pytest.raises(ValidationError, match="HH:MM"):
            Settings(overdue_alert_time=wrong)


def test_the_task_sends_todays_alerts_through_a_worker(
    celery_worker_app: Celery, committed_engine: Engine, settings: Settings
) -> None:
    today = settings.today()
    with session_scope(committed_engine) as session:
        sejour = add_service(session, name="Bureau du séjour", email_address=SEJOUR_EMAIL)
        add_case(session, service=sejour, due=today - timedelta(days=30))

    outbox_ids = celery_worker_app.send_task("qualipref.send_overdue_alerts").get(timeout=30)

    if WorkingCalendar.from_settings(settings).is_working_day(today):
        assert [alert.id for alert in sent_alerts(committed_engine)] == outbox_ids
        assert len(outbox_ids) == 1
    else:
        assert outbox_ids == []
