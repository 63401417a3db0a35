"""Acknowledgements through an SMTP outage, and against an out-of-office responder."""

import time
from email.utils import parseaddr

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from backend.config import Settings
from backend.mailboxes.polling import poll_mailbox
from backend.models import Case
from tests.backend.acknowledgements.test_acknowledgements import deliver_all, parsed
from tests.fixtures.mailboxes import MailboxFactory, citizen_mail
from tests.fixtures.smtp import SmtpServer

OUTAGE_SECONDS = 60.0
# Beat's poll interval in production: the loop test plays ten of them, ten minutes.
POLL_INTERVAL_SECONDS = 60
SIMULATED_SECONDS = 600


@pytest.mark.timeout(300)
def test_an_smtp_outage_of_a_minute_delays_acknowledgements_but_sends_each_once(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    retrying = settings.model_copy(
        update={
            "smtp_url": smtp_server.url,
            "outbox_retry_base_seconds": 1.0,
            "outbox_retry_max_seconds": 8.0,
        }
    )
    mailbox = make_mailbox()
    citizens = [f"citoyen{i}@example.org" for i in range(20)]
    mailbox.append_many([citizen_mail(sender=c, subject=f"Demande {c}") for c in citizens])
    smtp_server.stop()

    poll_mailbox(mailbox_id=mailbox.id, settings=retrying, engine=committed_engine)
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < outage_ends:
        deliver_all(retrying, committed_engine)  # what beat's sweep does meanwhile
        time.sleep(0.5)
    assert smtp_server.messages == []
    smtp_server.start()
    deadline = time.monotonic() + 30
    while len(smtp_server.messages) < 20 and time.monotonic() < deadline:
        deliver_all(retrying, committed_engine)
        time.sleep(0.5)
    deliver_all(retrying, committed_engine)

    recipients = sorted(message.recipients[0] for message in smtp_server.messages)
    assert recipients == sorted(citizens)
    with Session(committed_engine) as session:
        acknowledged = session.exec(
            select(func.count()).select_from(Case).where(col(Case.acknowledged_at).is_not(None))
        ).one()
    assert acknowledged == 20


def test_an_out_of_office_responder_gets_at_most_the_rate_limit(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    """The worst responder: no Auto-Submitted, no threading headers, no reference in the subject."""
    smtp_settings = settings.model_copy(update={"smtp_url": smtp_server.url})
    mailbox = make_mailbox()
    responder = "absent@example.org"
    mailbox.append(citizen_mail(sender=responder, subject="Question"))

    answered = 0
    for _ in range(SIMULATED_SECONDS // POLL_INTERVAL_SECONDS):
        poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
        deliver_all(smtp_settings, committed_engine)
        for message in smtp_server.messages[answered:]:
            to = parseaddr(str(parsed(message)["To"]))[1]
            mailbox.append(
                citizen_mail(sender=to, subject="Absent du bureau", body="Je suis absent.")
            )
        answered = len(smtp_server.messages)

    assert answered == smtp_settings.acknowledgement_limit_per_day == 3
    with Session(committed_engine) as session:
        reasons = [case.acknowledgement_skip_reason for case in session.exec(select(Case)).all()]
    assert reasons.count(None) == 3
    assert reasons[3:] == [
        f"limite de 3 accusés de réception en 24 heures atteinte pour {responder}"
    ] * (len(reasons) - 3)
