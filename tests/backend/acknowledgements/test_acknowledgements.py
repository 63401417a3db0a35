"""Acknowledgements end to end: Dovecot delivers, the poller logs, aiosmtpd receives."""

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.mailboxes.polling import poll_mailbox
from backend.models import Case, Message, OutboxEmail, OutboxStatus, Service
from backend.outbox.delivery import deliver_emails, due_email_ids
from tests.fixtures.mailboxes import MailboxFactory, PolledMailbox, citizen_mail
from tests.fixtures.smtp import CapturedMessage, SmtpServer

MACHINE_HEADERS = {
    "Auto-Submitted": b"Auto-Submitted: auto-replied\r\n",
    "Precedence": b"Precedence: bulk\r\n",
    "List-Id": b"List-Id: <annonces.example.org>\r\n",
    "List-Unsubscribe": b"List-Unsubscribe: <mailto:stop@example.org>\r\n",
    "X-Autoreply": b"X-Autoreply: yes\r\n",
    "X-Autorespond": b"X-Autorespond: yes\r\n",
    "X-Auto-Response-Suppress": b"X-Auto-Response-Suppress: All\r\n",
    "Return-Path: <>": b"Return-Path: <>\r\n",
}
MACHINE_SENDERS = {
    "sender: MAILER-DAEMON": "MAILER-DAEMON@mx.example.org",
    "sender: postmaster": "postmaster@example.org",
    "sender: noreply": "noreply@example.org",
}


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url})


@dataclass(frozen=True)
class Citizen:
    address: str
    subject: str
    message_id: str


def machine_messages() -> dict[str, bytes]:
    """One message per rule of DOMAIN.md that marks mail as sent by a machine."""
    messages = {}
    for index, (marker, header) in enumerate(MACHINE_HEADERS.items()):
        raw = citizen_mail(sender=f"robot{index}@example.net", subject=f"Automate {index}")
        messages[marker] = raw.replace(b"Subject:", header + b"Subject:", 1)
    for marker, sender in MACHINE_SENDERS.items():
        messages[marker] = citizen_mail(sender=sender, subject=f"Automate {marker}")
    messages["multipart/report"] = (
        b"From: mailer@example.net\r\nTo: prefecture@gers.gouv.fr\r\nSubject: Non remis\r\n"
        b"Message-ID: <report@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nNon remis.\r\n--r--\r\n"
    )
    return messages


def deliver_all(settings: Settings, engine: Engine) -> None:
    """What beat's sweep does, until nothing is due."""
    while due := due_email_ids(settings=settings, engine=engine):
        deliver_emails(outbox_ids=due, settings=settings, engine=engine)


def parsed(captured: CapturedMessage) -> EmailMessage:
    message = email.message_from_bytes(captured.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def cases_by_subject(engine: Engine) -> dict[str, Case]:
    with Session(engine) as session:
        return {case.subject: case for case in session.exec(select(Case)).all()}


def test_twenty_citizens_get_one_acknowledgement_each_and_machines_none(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    mailbox = make_mailbox()
    citizens = [
        Citizen(f"citizen{i}@example.org", f"Demande n° {i}", f"<citizen-{i}@example.org>")
        for i in range(20)
    ]
    originals = [
        citizen_mail(sender=c.address, subject=c.subject, message_id=c.message_id) for c in citizens
    ]
    replies = [
        citizen_mail(sender=c.address, subject=f"Re: {c.subject}", in_reply_to=c.message_id)
        for c in citizens[:5]
    ]
    machines = machine_messages()
    assert len(machines) == 12
    mailbox.append_many([*originals, *replies, *machines.values()])

    report = poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    deliver_all(smtp_settings, committed_engine)

    assert (report.new_messages, report.new_cases) == (37, 32)
    received = smtp_server.wait_for(20)
    assert len(received) == 20
    cases = cases_by_subject(committed_engine)
    by_recipient = {captured.recipients[0]: parsed(captured) for captured in received}
    assert sorted(by_recipient) == sorted(c.address for c in citizens)
    for citizen in citizens:
        case = cases[citizen.subject]
        sent = by_recipient[citizen.address]
        assert sent["Subject"] == f"Accusé de réception [{case.reference}] – {citizen.subject}"
        assert sent["Auto-Submitted"] == "auto-replied"
        assert sent["In-Reply-To"] == citizen.message_id
        assert citizen.message_id in sent["References"]
        assert sent["From"].addresses[0].addr_spec == f"{mailbox.slug}@gers.gouv.fr"
        assert case.acknowledged_at is not None
        assert case.acknowledgement_skip_reason is None
        _assert_our_message_id_is_recorded(committed_engine, case=case, sent=sent)
    for marker in machines:
        case = next(c for c in cases.values() if c.sender_email and _made_by(marker, c))
        assert case.acknowledged_at is None
        assert case.acknowledgement_skip_reason is not None
        assert marker.lower() in case.acknowledgement_skip_reason.lower()
    assert all(captured.sender == "<>" for captured in received)


def _made_by(marker: str, case: Case) -> bool:
    if marker in MACHINE_SENDERS:
        return case.sender_email == MACHINE_SENDERS[marker]
    if marker == "multipart/report":
        return case.subject == "Non remis"
    index = list(MACHINE_HEADERS).index(marker)
    return case.sender_email == f"robot{index}@example.net"


def _assert_our_message_id_is_recorded(engine: Engine, *, case: Case, sent: EmailMessage) -> None:
    with Session(engine) as session:
        outbox = session.exec(select(OutboxEmail).where(OutboxEmail.case_id == case.id)).one()
    assert sent["Message-ID"] == f"<{outbox.rfc_message_id}>"


def test_the_acknowledgement_names_the_service_and_the_delay(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    with Session(committed_engine) as session:
        service = Service(
            slug="sejour",
            name="Bureau du séjour",
            email="pref-sejour@gers.gouv.fr",
            phone="05 62 61 43 00",
            postal_address="1 rue Victor Hugo\n32000 Auch",
        )
        session.add(service)
        session.commit()
        service_id = service.id
    mailbox = make_mailbox(kind="sejour", service_id=service_id)
    mailbox.append(citizen_mail(subject="Renouvellement de mon titre de séjour"))

    poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    deliver_all(smtp_settings, committed_engine)

    (captured,) = smtp_server.wait_for(1)
    text = parsed(captured).get_body(("plain",))
    assert text is not None
    content = text.get_content()
    for expected in ("Bureau du séjour", "1 rue Victor Hugo", "32000 Auch", "05 62 61 43 00"):
        assert expected in content
    assert "pref-sejour@gers.gouv.fr" in content
    assert "5 jours ouvrés" in content
    assert "quatre mois" in content


def test_at_most_three_per_address_in_a_day(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    mailbox = make_mailbox()
    mailbox.append_many([citizen_mail(subject=f"Question {i}") for i in range(5)])

    poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    deliver_all(smtp_settings, committed_engine)

    assert len(smtp_server.wait_for(3)) == 3
    reasons = sorted(
        str(case.acknowledgement_skip_reason)
        for case in cases_by_subject(committed_engine).values()
    )
    limit = "limite de 3 accusés de réception en 24 heures atteinte pour camille.martin@example.org"
    assert reasons == sorted(["None"] * 3 + [limit] * 2)


def test_no_acknowledgement_to_the_prefecture_or_before_the_start_date(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    today = datetime.now(UTC).date()
    mailbox = make_mailbox(start_date=today, import_before_start_date=True)
    mailbox.append(citizen_mail(sender="agent.accueil@gers.gouv.fr", subject="Transfert"))
    mailbox.append(
        citizen_mail(subject="Ancien courriel"), internal_date=datetime.now(UTC) - timedelta(days=3)
    )

    poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    deliver_all(smtp_settings, committed_engine)

    cases = cases_by_subject(committed_engine)
    assert cases["Transfert"].acknowledgement_skip_reason == (
        "adresse de la préfecture (agent.accueil@gers.gouv.fr)"
    )
    assert cases["Ancien courriel"].acknowledgement_skip_reason == (
        "reçu avant la date de mise en service de la boîte"
    )
    assert smtp_server.messages == []


def test_a_template_missing_a_variable_sends_nothing_and_says_which(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    override = tmp_path / "modeles"
    (override / "accuse-reception-contact").mkdir(parents=True)
    (override / "accuse-reception-contact" / "body.txt.j2").write_text(
        "Votre dossier {{ reference }} sera traité par {{ agent_name }}.\n", encoding="utf-8"
    )
    broken = smtp_settings.model_copy(update={"letter_templates_override_dir": override})
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Question"))

    report = poll_mailbox(mailbox_id=mailbox.id, settings=broken, engine=committed_engine)
    deliver_all(broken, committed_engine)

    assert report.new_cases == 1
    case = cases_by_subject(committed_engine)["Question"]
    assert case.needs_attention
    assert case.attention_reason is not None
    assert "agent_name" in case.attention_reason
    assert "accuse-reception-contact/body.txt.j2" in case.attention_reason
    assert case.acknowledged_at is None
    with Session(committed_engine) as session:
        (outbox,) = session.exec(select(OutboxEmail)).all()
        assert len(session.exec(select(Message).where(col(Message.case_id) == case.id)).all()) == 1
    assert outbox.status is OutboxStatus.FAILED
    assert outbox.raw_sha256 is None
    assert outbox.last_error is not None
    assert "agent_name" in outbox.last_error
    assert smtp_server.messages == []


def test_a_reply_to_the_acknowledgement_joins_the_case_and_gets_none(
    make_mailbox: MailboxFactory,
    committed_engine: Engine,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    mailbox: PolledMailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Horaires"))
    poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    deliver_all(smtp_settings, committed_engine)
    acknowledgement = parsed(smtp_server.wait_for(1)[0])

    mailbox.append(
        citizen_mail(
            subject=f"Re: {acknowledgement['Subject']}", in_reply_to=acknowledgement["Message-ID"]
        )
    )
    report = poll_mailbox(mailbox_id=mailbox.id, settings=smtp_settings, engine=committed_engine)
    deliver_all(smtp_settings, committed_engine)

    assert (report.new_messages, report.new_cases) == (1, 0)
    assert len(smtp_server.messages) == 1
