"""Logging an incoming message: once, into the case it continues or a new one."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from backend.cases.classification import default_kind, suggest_complaint
from backend.cases.references import allocate_case_reference
from backend.cases.threading import find_thread_case
from backend.config import Settings
from backend.mail.parser import ParsedMessage
from backend.models import (
    Attachment,
    AuditEvent,
    Case,
    CaseKind,
    CaseStatus,
    Mailbox,
    Message,
    MessageDirection,
)
from backend.storage.filestore import FileStore

POLLER = "system:poller"
UNREADABLE_SUBJECT = "(message illisible)"
NO_SUBJECT = "(sans objet)"
BEFORE_START_REASON = "reçu avant la date de mise en service de la boîte"


class IngestOutcome(StrEnum):
    """What logging one message did."""

    NEW_CASE = "new_case"
    NEW_MESSAGE = "new_message"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class ImapPosition:
    """Where the message sits on the IMAP server."""

    folder: str
    uidvalidity: int
    uid: int


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message to log: its raw bytes (already in the file store) and what parsing gave."""

    raw_sha256: str
    raw_size: int
    parsed: ParsedMessage | None
    parse_error: str | None
    received_at: datetime
    imap_position: ImapPosition | None = None

    @property
    def message_id(self) -> str:
        """The Message-ID, or one derived from the raw bytes when parsing failed."""
        if self.parsed is not None:
            return self.parsed.message_id
        return f"{self.raw_sha256[:32]}@qualipref.invalid"

    @property
    def fingerprint(self) -> str:
        """Equal for the same message delivered twice."""
        return self.parsed.fingerprint if self.parsed is not None else self.raw_sha256


def prepare_incoming(
    *,
    raw: bytes,
    internal_date: datetime | None,
    imap_position: ImapPosition | None,
    file_store: FileStore,
    parse: Callable[[bytes], ParsedMessage],
) -> IncomingMessage:
    """Keep the raw bytes unchanged in the store, then parse; a parse failure is kept."""
    stored = file_store.put_bytes(raw)
    parsed: ParsedMessage | None = None
    parse_error: str | None = None
    try:
        parsed = parse(raw)
    except Exception as error:  # noqa: BLE001 - any message, however broken, is logged
        parse_error = f"{type(error).__name__}: {error}"
    return IncomingMessage(
        raw_sha256=stored.sha256,
        raw_size=stored.size,
        parsed=parsed,
        parse_error=parse_error,
        received_at=received_at_of(internal_date=internal_date, parsed=parsed),
        imap_position=imap_position,
    )


def received_at_of(*, internal_date: datetime | None, parsed: ParsedMessage | None) -> datetime:
    """INTERNALDATE, else the Date header, else now: the legal start of every delay, in UTC."""
    for candidate in (internal_date, parsed.date if parsed else None):
        if candidate is not None and candidate.tzinfo is not None:
            return candidate.astimezone(UTC)
    return datetime.now(UTC)


def log_incoming_message(
    session: Session,
    *,
    mailbox: Mailbox,
    incoming: IncomingMessage,
    settings: Settings,
    file_store: FileStore,
) -> IngestOutcome:
    """Log the message unless it already is; thread it into a case, opening one if needed."""
    assert mailbox.id is not None
    if _already_logged(session, mailbox_id=mailbox.id, incoming=incoming):
        return IngestOutcome.DUPLICATE
    parsed = incoming.parsed
    case = (
        find_thread_case(session, message_ids=_thread_ids(parsed), subject=parsed.subject)
        if parsed is not None
        else None
    )
    outcome = IngestOutcome.NEW_MESSAGE
    if case is None:
        case = _open_case(session, mailbox=mailbox, incoming=incoming, settings=settings)
        outcome = IngestOutcome.NEW_CASE
    elif case.status is CaseStatus.CLOSED:
        _reopen(session, case=case)
    message = _message_row(mailbox=mailbox, case=case, incoming=incoming)
    session.add(message)
    session.flush()
    _store_attachments(session, message=message, parsed=parsed, file_store=file_store)
    _record_event(session, case=case, message=message, outcome=outcome)
    return outcome


def _thread_ids(parsed: ParsedMessage) -> list[str]:
    ids = list(reversed(parsed.references))  # the most recent ancestor first
    if parsed.in_reply_to and parsed.in_reply_to not in ids:
        ids.insert(0, parsed.in_reply_to)
    return ids


def _already_logged(session: Session, *, mailbox_id: int, incoming: IncomingMessage) -> bool:
    same_content = and_(
        col(Message.rfc_message_id) == incoming.message_id,
        col(Message.fingerprint) == incoming.fingerprint,
    )
    position = incoming.imap_position
    same_place = (
        and_(
            col(Message.imap_folder) == position.folder,
            col(Message.imap_uidvalidity) == position.uidvalidity,
            col(Message.imap_uid) == position.uid,
        )
        if position is not None
        else false()
    )
    found = session.exec(
        select(Message.id)
        .where(col(Message.mailbox_id) == mailbox_id, or_(same_content, same_place))
        .limit(1)
    ).first()
    return found is not None


def _open_case(
    session: Session, *, mailbox: Mailbox, incoming: IncomingMessage, settings: Settings
) -> Case:
    parsed = incoming.parsed
    reference = allocate_case_reference(
        session,
        prefix=settings.prefecture.case_reference_prefix,
        year=incoming.received_at.astimezone(settings.tzinfo).year,
    )
    case = Case(
        reference=str(reference),
        kind=default_kind(mailbox.kind),
        mailbox_id=mailbox.id,
        service_id=mailbox.service_id,
        subject=(parsed.subject or NO_SUBJECT) if parsed else UNREADABLE_SUBJECT,
        sender_name=parsed.sender.name if parsed and parsed.sender else None,
        sender_email=parsed.sender.address if parsed and parsed.sender else None,
        received_at=incoming.received_at,
    )
    if parsed is None:
        case.needs_attention = True
        case.attention_reason = f"Message illisible, conservé brut : {incoming.parse_error}"
    elif suggest_complaint(
        subject=parsed.subject, body=parsed.body_text, keywords=settings.complaint_keywords
    ):
        case.suggested_kind = CaseKind.COMPLAINT
    if incoming.received_at.astimezone(settings.tzinfo).date() < mailbox.start_date:
        case.acknowledgement_skip_reason = BEFORE_START_REASON
    session.add(case)
    session.flush()
    return case


def _reopen(session: Session, *, case: Case) -> None:
    """The citizen wrote again on a closed case: it is open again."""
    previous = case.status
    case.status = CaseStatus.IN_PROGRESS if case.assignee_id else CaseStatus.NEW
    case.closed_at = None
    case.version += 1
    case.updated_at = datetime.now(UTC)
    session.add(case)
    session.add(
        AuditEvent(
            actor_label=POLLER,
            action="case.reopened",
            case_id=case.id,
            changes={"status": [previous.value, case.status.value]},
            details={"reason": "nouveau message du demandeur"},
        )
    )


def _message_row(*, mailbox: Mailbox, case: Case, incoming: IncomingMessage) -> Message:
    parsed = incoming.parsed
    position = incoming.imap_position
    assert case.id is not None
    message = Message(
        case_id=case.id,
        direction=MessageDirection.INBOUND,
        mailbox_id=mailbox.id,
        imap_folder=position.folder if position else None,
        imap_uidvalidity=position.uidvalidity if position else None,
        imap_uid=position.uid if position else None,
        rfc_message_id=incoming.message_id,
        fingerprint=incoming.fingerprint,
        subject=UNREADABLE_SUBJECT,
        body_text="",
        received_at=incoming.received_at,
        raw_sha256=incoming.raw_sha256,
        raw_size=incoming.raw_size,
        parse_error=incoming.parse_error,
    )
    if parsed is not None:
        _fill_from_parsed(message, parsed=parsed)
    return message


def _fill_from_parsed(message: Message, *, parsed: ParsedMessage) -> None:
    message.in_reply_to = parsed.in_reply_to
    message.reference_ids = list(parsed.references)
    message.subject = parsed.subject
    message.from_name = parsed.sender.name if parsed.sender else None
    message.from_address = parsed.sender.address if parsed.sender else None
    message.to_addresses = [address.address for address in parsed.to]
    message.cc_addresses = [address.address for address in parsed.cc]
    message.date_header = parsed.date
    message.headers = [list(header) for header in parsed.headers]
    message.body_text = parsed.body_text
    message.body_html = parsed.body_html
    message.parse_defects = list(parsed.defects)


def _store_attachments(
    session: Session, *, message: Message, parsed: ParsedMessage | None, file_store: FileStore
) -> None:
    if parsed is None:
        return
    assert message.id is not None
    for position, attachment in enumerate(parsed.attachments):
        stored = file_store.put_bytes(attachment.content)
        session.add(
            Attachment(
                message_id=message.id,
                position=position,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=stored.size,
                sha256=stored.sha256,
                content_id=attachment.content_id,
                is_inline=attachment.is_inline,
            )
        )


def _record_event(
    session: Session, *, case: Case, message: Message, outcome: IngestOutcome
) -> None:
    session.add(
        AuditEvent(
            actor_label=POLLER,
            action="case.opened" if outcome is IngestOutcome.NEW_CASE else "message.received",
            case_id=case.id,
            object_type="message",
            object_id=str(message.id),
            details={"message_id": message.rfc_message_id},
        )
    )
