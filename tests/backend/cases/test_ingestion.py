"""A batch of incoming messages is logged in order: each once, in the case it continues."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from backend.cases.ingestion import IngestOutcome, log_incoming_messages
from backend.config import Settings
from backend.mail.incoming import IncomingMessage, RawIncoming, prepare_incoming
from backend.models import AuditEvent, Case, CaseStatus, Mailbox, Message, OutboxEmail
from backend.storage.filestore import FileStore
from tests.fixtures.mailboxes import citizen_mail


@pytest.fixture
def mailbox(contact_mailbox: Mailbox) -> Mailbox:
    return contact_mailbox


def _incoming(tmp_path: Path, *raws: bytes) -> list[IncomingMessage]:
    arrived = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return prepare_incoming(
        [RawIncoming(raw=raw, internal_date=arrived) for raw in raws],
        file_store=FileStore(tmp_path),
    )


def _log(
    session: Session, mailbox: Mailbox, settings: Settings, messages: list[IncomingMessage]
) -> list[IngestOutcome]:
    return log_incoming_messages(session, mailbox=mailbox, messages=messages, settings=settings)


def _case_ids(session: Session, mailbox: Mailbox) -> list[int]:
    return list(
        session.exec(
            select(Message.case_id)
            .where(Message.mailbox_id == mailbox.id)
            .order_by(col(Message.id))
        ).all()
    )


def test_a_reply_in_the_same_batch_joins_the_case_its_original_opened(
    session: Session, mailbox: Mailbox, settings: Settings, tmp_path: Path
) -> None:
    batch = _incoming(
        tmp_path,
        citizen_mail(subject="Titre de séjour", message_id="<original@example.org>"),
        citizen_mail(subject="Sans rapport"),
        citizen_mail(subject="Re: Titre de séjour", in_reply_to="<original@example.org>"),
    )

    outcomes = _log(session, mailbox, settings, batch)

    assert outcomes == [IngestOutcome.NEW_CASE, IngestOutcome.NEW_CASE, IngestOutcome.NEW_MESSAGE]
    original, unrelated, reply = _case_ids(session, mailbox)
    assert reply == original != unrelated


def test_the_same_message_twice_in_a_batch_is_logged_once(
    session: Session, mailbox: Mailbox, settings: Settings, tmp_path: Path
) -> None:
    raw = citizen_mail(subject="Envoyé deux fois")

    outcomes = _log(session, mailbox, settings, _incoming(tmp_path, raw, raw))
    again = _log(session, mailbox, settings, _incoming(tmp_path, raw))

    assert outcomes == [IngestOutcome.NEW_CASE, IngestOutcome.DUPLICATE]
    assert again == [IngestOutcome.DUPLICATE]
    assert len(_case_ids(session, mailbox)) == 1


def test_a_reply_to_our_outgoing_email_joins_its_case(
    session: Session, mailbox: Mailbox, settings: Settings, tmp_path: Path
) -> None:
    (opened,) = _log(session, mailbox, settings, _incoming(tmp_path, citizen_mail()))
    assert opened is IngestOutcome.NEW_CASE
    (case_id,) = _case_ids(session, mailbox)
    session.add(
        OutboxEmail(
            case_id=case_id,
            rfc_message_id="accuse-1@gers.gouv.fr",
            from_address="prefecture@gers.gouv.fr",
            recipients=["camille.martin@example.org"],
            subject="Accusé de réception",
            raw_sha256="0" * 64,
        )
    )
    session.flush()

    reply = citizen_mail(subject="Re: Accusé de réception", in_reply_to="<accuse-1@gers.gouv.fr>")
    assert _log(session, mailbox, settings, _incoming(tmp_path, reply)) == [
        IngestOutcome.NEW_MESSAGE
    ]
    assert _case_ids(session, mailbox) == [case_id, case_id]


def test_a_message_for_a_merged_case_joins_the_surviving_case(
    session: Session, mailbox: Mailbox, settings: Settings, tmp_path: Path
) -> None:
    batch = _incoming(
        tmp_path,
        citizen_mail(subject="Premier envoi", message_id="<first@example.org>"),
        citizen_mail(subject="Doublon du dossier", message_id="<second@example.org>"),
    )
    _log(session, mailbox, settings, batch)
    merged_id, surviving_id = _case_ids(session, mailbox)
    merged = session.get(Case, merged_id)
    assert merged is not None
    merged.merged_into_id = surviving_id
    session.add(merged)
    session.flush()

    reply = citizen_mail(subject="Re: Premier envoi", in_reply_to="<first@example.org>")
    _log(session, mailbox, settings, _incoming(tmp_path, reply))

    assert _case_ids(session, mailbox)[-1] == surviving_id


def test_new_cases_are_numbered_in_order_of_arrival(
    session: Session, mailbox: Mailbox, settings: Settings, tmp_path: Path
) -> None:
    subjects = [f"Demande n° {number}" for number in range(5)]

    _log(
        session,
        mailbox,
        settings,
        _incoming(tmp_path, *(citizen_mail(subject=subject) for subject in subjects)),
    )

    cases = session.exec(
        select(Case).where(Case.mailbox_id == mailbox.id).order_by(col(Case.reference))
    ).all()
    assert [case.subject for case in cases] == subjects
    numbers = [int(case.reference.rsplit("-", 1)[1]) for case in cases]
    assert numbers == list(range(numbers[0], numbers[0] + 5))


def test_two_replies_to_a_closed_case_reopen_it_once(
    session: Session, mailbox: Mailbox, settings: Settings, tmp_path: Path
) -> None:
    original = citizen_mail(subject="Dossier", message_id="<closed@example.org>")
    _log(session, mailbox, settings, _incoming(tmp_path, original))
    (case_id,) = _case_ids(session, mailbox)
    case = session.get(Case, case_id)
    assert case is not None
    case.status, case.closed_at = CaseStatus.CLOSED, datetime.now(UTC)
    session.add(case)
    session.flush()

    replies = [
        citizen_mail(subject=f"Re: Dossier ({number})", in_reply_to="<closed@example.org>")
        for number in range(2)
    ]
    _log(session, mailbox, settings, _incoming(tmp_path, *replies))

    reloaded = session.get(Case, case_id, populate_existing=True)
    assert reloaded is not None
    assert (reloaded.status, reloaded.closed_at) == (CaseStatus.NEW, None)
    reopened = session.exec(
        select(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.action == "case.reopened"
        )
    ).all()
    assert len(reopened) == 1
