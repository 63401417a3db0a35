"""Polling logs every message of a mailbox once, with its timestamps, into the right case."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.database import session_scope
from backend.mail.parser import ParsedMessage, parse_message
from backend.mailboxes import polling
from backend.mailboxes.polling import PollReport, poll_all_mailboxes, poll_mailbox
from backend.mailboxes.service import take_poll_lease
from backend.models import Case, CaseKind, CaseStatus, Mailbox, MailboxSyncState, Message
from backend.storage.filestore import FileStore
from tests.fixtures.mailboxes import MailboxFactory, PolledMailbox, citizen_mail


def _poll(mailbox: PolledMailbox, *, settings: Settings, engine: Engine) -> PollReport:
    return poll_mailbox(mailbox_id=mailbox.id, settings=settings, engine=engine)


def _messages(engine: Engine, mailbox: PolledMailbox) -> list[Message]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Message).where(Message.mailbox_id == mailbox.id).order_by(col(Message.id))
            ).all()
        )


def _case_of(engine: Engine, message: Message) -> Case:
    with Session(engine) as session:
        case = session.get(Case, message.case_id)
        assert case is not None
        return case


def test_poll_logs_each_new_message_once_with_its_raw_bytes(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    raws = [citizen_mail(subject=f"Question n° {number}") for number in range(3)]
    arrived = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    for raw in raws:
        mailbox.append(raw, internal_date=arrived)

    first = _poll(mailbox, settings=settings, engine=engine)
    second = _poll(mailbox, settings=settings, engine=engine)

    assert first == PollReport(slug=mailbox.slug, fetched=3, new_messages=3, new_cases=3)
    assert second == PollReport(slug=mailbox.slug)
    messages = _messages(engine, mailbox)
    store = FileStore(settings.file_store_dir)
    assert [store.read_bytes(m.raw_sha256 or "") for m in messages] == raws
    assert [m.received_at for m in messages] == [arrived] * 3
    case = _case_of(engine, messages[0])
    assert case.kind is CaseKind.INFORMATION_REQUEST
    assert case.received_at == arrived
    assert case.sender_email == "camille.martin@example.org"
    assert case.reference.startswith(f"{settings.prefecture.case_reference_prefix}-2026-")


def test_mail_received_before_the_start_date_is_not_imported(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox(start_date=date(2026, 1, 1))
    mailbox.append(citizen_mail(subject="Ancien"), internal_date=datetime(2025, 6, 1, tzinfo=UTC))
    mailbox.append(citizen_mail(subject="Nouveau"), internal_date=datetime(2026, 2, 1, tzinfo=UTC))

    report = _poll(mailbox, settings=settings, engine=engine)

    assert (report.new_messages, report.error) == (1, None)
    assert [m.subject for m in _messages(engine, mailbox)] == ["Nouveau"]


def test_older_mail_imported_on_request_gets_no_acknowledgement(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox(start_date=date(2026, 1, 1), import_before_start_date=True)
    mailbox.append(citizen_mail(subject="Ancien"), internal_date=datetime(2025, 6, 1, tzinfo=UTC))

    _poll(mailbox, settings=settings, engine=engine)

    (message,) = _messages(engine, mailbox)
    assert _case_of(engine, message).acknowledgement_skip_reason is not None


def test_a_mailbox_with_a_wrong_password_does_not_stop_the_others(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    broken = make_mailbox(password="not-the-password")
    working = make_mailbox()
    working.append(citizen_mail())

    reports = {r.slug: r for r in poll_all_mailboxes(settings=settings, engine=engine)}

    assert reports[working.slug].new_messages == 1
    assert reports[working.slug].error is None
    assert "Identifiants refusés" in (reports[broken.slug].error or "")
    with Session(engine) as session:
        broken_row = session.get(Mailbox, broken.id)
        assert broken_row is not None
        assert "Identifiants refusés" in (broken_row.last_error or "")
        assert broken_row.consecutive_failures == 1
        assert broken_row.next_poll_at is not None


def test_replies_join_the_case_they_answer(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Titre de séjour", message_id="<first@example.org>"))
    _poll(mailbox, settings=settings, engine=engine)
    (first,) = _messages(engine, mailbox)
    reference = _case_of(engine, first).reference

    mailbox.append(citizen_mail(subject="Re: suite", in_reply_to="<first@example.org>"))
    mailbox.append(
        citizen_mail(subject="Autre", references="<unknown@example.org> <first@example.org>")
    )
    mailbox.append(citizen_mail(subject=f"Complément [{reference}]"))
    mailbox.append(citizen_mail(subject="Sans rapport"))
    report = _poll(mailbox, settings=settings, engine=engine)

    assert (report.new_messages, report.new_cases) == (4, 1)
    cases = [m.case_id for m in _messages(engine, mailbox)]
    assert cases[:4] == [first.case_id] * 4
    assert cases[4] != first.case_id


def test_a_citizen_writing_on_a_closed_case_reopens_it(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(message_id="<closed@example.org>"))
    _poll(mailbox, settings=settings, engine=engine)
    (first,) = _messages(engine, mailbox)
    with session_scope(engine) as session:
        case = session.get(Case, first.case_id)
        assert case is not None
        case.status = CaseStatus.CLOSED
        case.closed_at = datetime.now(UTC)

    mailbox.append(citizen_mail(in_reply_to="<closed@example.org>"))
    _poll(mailbox, settings=settings, engine=engine)

    reopened = _case_of(engine, first)
    assert (reopened.status, reopened.closed_at) == (CaseStatus.NEW, None)


def test_complaint_keywords_propose_the_complaint_kind(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Reclamation concernant mon dossier"))

    _poll(mailbox, settings=settings, engine=engine)

    case = _case_of(engine, _messages(engine, mailbox)[0])
    assert (case.kind, case.suggested_kind) == (CaseKind.INFORMATION_REQUEST, CaseKind.COMPLAINT)


def test_a_uidvalidity_change_rescans_without_duplicating(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    for number in range(3):
        mailbox.append(citizen_mail(subject=f"Message {number}"))
    _poll(mailbox, settings=settings, engine=engine)
    before = _uidvalidity(engine, mailbox)

    mailbox.reset_uidvalidity()
    mailbox.append(citizen_mail(subject="Après le changement"))
    report = _poll(mailbox, settings=settings, engine=engine)

    assert _uidvalidity(engine, mailbox) != before
    assert (report.fetched, report.duplicates, report.new_messages) == (4, 3, 1)
    assert len(_messages(engine, mailbox)) == 4


def _uidvalidity(engine: Engine, mailbox: PolledMailbox) -> int:
    with Session(engine) as session:
        state = session.exec(
            select(MailboxSyncState).where(MailboxSyncState.mailbox_id == mailbox.id)
        ).one()
        return state.uidvalidity


def test_an_unparseable_message_is_kept_raw_and_flagged(
    make_mailbox: MailboxFactory,
    settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox = make_mailbox()
    mailbox.append(citizen_mail(subject="Illisible"))
    mailbox.append(citizen_mail(subject="Lisible"))

    def parse_failing_on_one(raw: bytes) -> ParsedMessage:
        if b"Illisible" in raw:
            raise ValueError("structure MIME incompréhensible")
        return parse_message(raw)

    monkeypatch.setattr(polling, "parse_message", parse_failing_on_one)

    report = _poll(mailbox, settings=settings, engine=engine)

    assert (report.new_messages, report.error) == (2, None)
    broken, readable = _messages(engine, mailbox)
    assert broken.parse_error is not None
    assert FileStore(settings.file_store_dir).exists(broken.raw_sha256 or "")
    case = _case_of(engine, broken)
    assert case.needs_attention
    assert "incompréhensible" in (case.attention_reason or "")
    assert readable.subject == "Lisible"


def test_only_one_poller_holds_a_mailbox_at_a_time(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    with session_scope(engine) as session:
        assert take_poll_lease(session, mailbox_id=mailbox.id, owner="a", duration_seconds=60)
    with session_scope(engine) as session:
        assert not take_poll_lease(session, mailbox_id=mailbox.id, owner="b", duration_seconds=60)

    report = _poll(mailbox, settings=settings, engine=engine)

    assert report.error == polling.BUSY_ERROR


def test_message_count_matches_the_mailbox_after_polls(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    mailbox = make_mailbox()
    for number in range(7):
        mailbox.append(citizen_mail(subject=f"Lot {number}"))
    small_batches = settings.model_copy(update={"imap_batch_size": 3})

    report = poll_mailbox(mailbox_id=mailbox.id, settings=small_batches, engine=engine)

    assert report.new_messages == 7
    with Session(engine) as session:
        count = session.exec(
            select(func.count()).select_from(Message).where(Message.mailbox_id == mailbox.id)
        ).one()
        state = session.exec(
            select(MailboxSyncState).where(MailboxSyncState.mailbox_id == mailbox.id)
        ).one()
    assert (count, state.last_uid) == (7, 7)
