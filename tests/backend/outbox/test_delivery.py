"""Delivering the outbox on a real database and a real SMTP server: once, and only once."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from backend.config import Settings
from backend.database import session_scope
from backend.mail.compose import OutgoingEmail, new_message_id
from backend.mail.message import ParsedAddress
from backend.models import Case, OutboxEmail, OutboxPurpose, OutboxStatus
from backend.outbox.delivery import deliver_emails, due_email_ids
from backend.outbox.service import EmailToQueue, queue_emails, requeue_email
from backend.storage.filestore import FileStore
from tests.fixtures.smtp import SmtpServer

CITIZEN = "camille.martin@example.org"


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url, "smtp_timeout_seconds": 5.0})


def queue_acknowledgement(engine: Engine, settings: Settings, *, to: str = CITIZEN) -> int:
    """A committed case and its queued acknowledgement; the outbox id."""
    with session_scope(engine) as session:
        case = Case(
            reference=f"GERS-2026-{datetime.now(UTC).timestamp():.6f}",
            subject="Demande",
            received_at=datetime.now(UTC),
            received_on=settings.today(),
        )
        session.add(case)
        session.flush()
        email = OutgoingEmail(
            sender=ParsedAddress(name="Préfecture du Gers", address="prefecture@gers.gouv.fr"),
            to=(ParsedAddress(name=None, address=to),),
            subject="Accusé de réception",
            text="Bonjour",
            html=None,
            message_id=new_message_id(sender_address="prefecture@gers.gouv.fr"),
            date=datetime.now(UTC),
        )
        (outbox_id,) = queue_emails(
            session,
            emails=[EmailToQueue(email, OutboxPurpose.ACKNOWLEDGEMENT, case.id)],
            file_store=FileStore(settings.file_store_dir),
        )
    return outbox_id


def load(engine: Engine, outbox_id: int) -> tuple[OutboxEmail, Case]:
    with Session(engine) as session:
        email = session.get(OutboxEmail, outbox_id)
        assert email is not None
        case = session.get(Case, email.case_id)
        assert case is not None
        return email, case


def stored_raw(settings: Settings, email: OutboxEmail) -> bytes:
    """The bytes the outbox row points at."""
    assert email.raw_sha256 is not None
    return FileStore(settings.file_store_dir).read_bytes(email.raw_sha256)


def test_an_acknowledgement_goes_out_once_and_acknowledges_its_case(
    committed_engine: Engine, smtp_settings: Settings, smtp_server: SmtpServer
) -> None:
    outbox_id = queue_acknowledgement(committed_engine, smtp_settings)

    first = deliver_emails(outbox_ids=[outbox_id], settings=smtp_settings, engine=committed_engine)
    again = deliver_emails(outbox_ids=[outbox_id], settings=smtp_settings, engine=committed_engine)

    assert first == {outbox_id: OutboxStatus.SENT}
    assert again == {}
    (received,) = smtp_server.wait_for(1)
    assert received.recipients == [CITIZEN]
    email, case = load(committed_engine, outbox_id)
    assert (email.status, email.attempts) == (OutboxStatus.SENT, 1)
    assert email.sent_at is not None
    assert case.acknowledged_at == email.sent_at
    assert (
        FileStore(smtp_settings.file_store_dir).read_bytes(email.raw_sha256 or "") == received.data
    )


def test_a_server_down_means_a_retry_later_not_a_loss(
    committed_engine: Engine, smtp_settings: Settings, smtp_server: SmtpServer
) -> None:
    outbox_id = queue_acknowledgement(committed_engine, smtp_settings)
    smtp_server.stop()

    result = deliver_emails(outbox_ids=[outbox_id], settings=smtp_settings, engine=committed_engine)

    assert result == {outbox_id: OutboxStatus.QUEUED}
    email, case = load(committed_engine, outbox_id)
    assert email.last_error == (
        f"Connexion refusée par {smtp_server.host}:{smtp_server.port} "
        "(serveur SMTP arrêté ou mauvais port ?)"
    )
    assert email.next_attempt_at is not None
    assert email.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)
    assert case.acknowledged_at is None
    assert due_email_ids(settings=smtp_settings, engine=committed_engine) == []

    smtp_server.start()
    _make_due(committed_engine, outbox_id)
    due = due_email_ids(settings=smtp_settings, engine=committed_engine)
    assert deliver_emails(outbox_ids=due, settings=smtp_settings, engine=committed_engine) == {
        outbox_id: OutboxStatus.SENT
    }
    assert len(smtp_server.wait_for(1)) == 1
    assert load(committed_engine, outbox_id)[0].attempts == 2


def test_a_refused_recipient_fails_with_the_server_reply(
    committed_engine: Engine, smtp_settings: Settings, smtp_server: SmtpServer
) -> None:
    smtp_server.reject_recipient("inconnu@example.org")
    refused = queue_acknowledgement(committed_engine, smtp_settings, to="inconnu@example.org")
    accepted = queue_acknowledgement(committed_engine, smtp_settings)

    result = deliver_emails(
        outbox_ids=[refused, accepted], settings=smtp_settings, engine=committed_engine
    )

    assert result == {refused: OutboxStatus.FAILED, accepted: OutboxStatus.SENT}
    email, case = load(committed_engine, refused)
    assert email.last_error == "550 inconnu@example.org : 5.1.1 No such user here"
    assert case.acknowledged_at is None
    assert [message.recipients for message in smtp_server.wait_for(1)] == [[CITIZEN]]


def test_temporary_failures_give_up_after_the_configured_time(
    committed_engine: Engine, smtp_settings: Settings, smtp_server: SmtpServer
) -> None:
    outbox_id = queue_acknowledgement(committed_engine, smtp_settings)
    smtp_server.stop()
    patient = smtp_settings.model_copy(update={"outbox_give_up_after_seconds": 0.001})

    result = deliver_emails(outbox_ids=[outbox_id], settings=patient, engine=committed_engine)

    assert result == {outbox_id: OutboxStatus.FAILED}
    assert load(committed_engine, outbox_id)[0].last_error == (
        f"abandon après 1 essai : Connexion refusée par {smtp_server.host}:{smtp_server.port} "
        "(serveur SMTP arrêté ou mauvais port ?)"
    )


def test_an_attempt_whose_worker_vanished_before_the_data_is_retried(
    committed_engine: Engine, smtp_settings: Settings, smtp_server: SmtpServer
) -> None:
    outbox_id = queue_acknowledgement(committed_engine, smtp_settings)
    _set(committed_engine, outbox_id, status=OutboxStatus.SENDING, attempts=1, started=False)

    due = due_email_ids(settings=smtp_settings, engine=committed_engine)
    deliver_emails(outbox_ids=due, settings=smtp_settings, engine=committed_engine)

    assert due == [outbox_id]
    assert len(smtp_server.wait_for(1)) == 1


def test_an_attempt_that_died_during_the_data_is_uncertain_and_waits_for_a_person(
    committed_engine: Engine, smtp_settings: Settings, smtp_server: SmtpServer
) -> None:
    outbox_id = queue_acknowledgement(committed_engine, smtp_settings)
    _set(committed_engine, outbox_id, status=OutboxStatus.SENDING, attempts=1, started=True)

    assert due_email_ids(settings=smtp_settings, engine=committed_engine) == []
    email, _ = load(committed_engine, outbox_id)
    assert email.status is OutboxStatus.UNCERTAIN
    assert email.last_error is not None
    assert "a pu recevoir" in email.last_error
    assert smtp_server.messages == []

    with session_scope(committed_engine) as session:
        requeue_email(session, outbox_id=outbox_id)
    deliver_emails(outbox_ids=[outbox_id], settings=smtp_settings, engine=committed_engine)
    assert len(smtp_server.wait_for(1)) == 1


def test_an_attempt_that_lost_its_claim_does_not_send(
    committed_engine: Engine, smtp_settings: Settings, smtp_server: SmtpServer
) -> None:
    """A slow worker whose claim was settled and taken by another must not send as well."""
    outbox_id = queue_acknowledgement(committed_engine, smtp_settings)
    relay = _TakenOverRelay(engine=committed_engine, outbox_id=outbox_id, settings=smtp_settings)

    result = deliver_emails(
        outbox_ids=[outbox_id], settings=smtp_settings, engine=committed_engine, transport=relay
    )

    assert result == {}
    assert smtp_server.messages == []


def test_only_failed_or_uncertain_e_mails_are_retried_by_hand(
    committed_engine: Engine, smtp_settings: Settings
) -> None:
    outbox_id = queue_acknowledgement(committed_engine, smtp_settings)
    _set(committed_engine, outbox_id, status=OutboxStatus.SENT, attempts=1, started=True)
    with (
        session_scope(committed_engine) as session,
        pytest.raises(ValueError, match="seul un courriel en échec"),
    ):
        requeue_email(session, outbox_id=outbox_id)
    with session_scope(committed_engine) as session, pytest.raises(LookupError):
        requeue_email(session, outbox_id=outbox_id + 1000)


def test_without_a_relay_e_mails_are_written_to_the_outbox_folder(
    committed_engine: Engine, settings: Settings
) -> None:
    outbox_id = queue_acknowledgement(committed_engine, settings)

    deliver_emails(outbox_ids=[outbox_id], settings=settings, engine=committed_engine)

    written = settings.outbox_dir / f"{outbox_id:08d}.eml"
    email, case = load(committed_engine, outbox_id)
    assert written.read_bytes() == FileStore(settings.file_store_dir).read_bytes(
        email.raw_sha256 or ""
    )
    assert case.acknowledged_at is not None


class _TakenOverRelay:
    """A relay that, just before sending, sees another worker take the e-mail over."""

    def __init__(self, *, engine: Engine, outbox_id: int, settings: Settings) -> None:
        self.engine = engine
        self.outbox_id = outbox_id
        from backend.outbox.delivery import transport_for

        self.real = transport_for(settings)

    def send(self, **arguments: object) -> str:
        _set(self.engine, self.outbox_id, status=OutboxStatus.SENDING, attempts=2, started=False)
        return self.real.send(**arguments)  # type: ignore[arg-type]


def _make_due(engine: Engine, outbox_id: int) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == outbox_id)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def _set(
    engine: Engine, outbox_id: int, *, status: OutboxStatus, attempts: int, started: bool
) -> None:
    """Put the row where a worker left it, long enough ago to be stale."""
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with session_scope(engine) as session:
        session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == outbox_id)
            .values(
                status=status,
                attempts=attempts,
                last_attempt_at=long_ago,
                transmission_started_at=long_ago if started else None,
            )
        )
