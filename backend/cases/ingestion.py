"""Logging incoming messages: each once, into the case it continues or a new one.

Messages come in batches (an IMAP fetch, a slice of an mbox). A batch is logged with a few
queries and bulk inserts, not several round trips per message: that is what lets one poller
keep up with a mailbox receiving thousands of messages.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, select

from backend.cases.classification import default_kind, suggest_complaint
from backend.cases.references import allocate_case_references
from backend.cases.threading import KnownThreads, follow_merges, load_known_threads
from backend.config import Settings
from backend.database import in_list_chunks
from backend.mail.incoming import ImapPosition, IncomingMessage
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
from backend.models.types import utc_now
from backend.storage.filestore import StoredFile

POLLER = "system:poller"
UNREADABLE_SUBJECT = "(message illisible)"
NO_SUBJECT = "(sans objet)"
BEFORE_START_REASON = "reçu avant la date de mise en service de la boîte"


class IngestOutcome(StrEnum):
    """What logging one message did."""

    NEW_CASE = "new_case"
    NEW_MESSAGE = "new_message"
    DUPLICATE = "duplicate"


def log_incoming_messages(
    session: Session,
    *,
    mailbox: Mailbox,
    messages: Sequence[IncomingMessage],
    settings: Settings,
) -> list[IngestOutcome]:
    """Log each message of a batch, in order, unless it already is; thread it into a case."""
    assert mailbox.id is not None
    batch = _Batch(
        session=session,
        mailbox=mailbox,
        settings=settings,
        logged=_load_logged_keys(session, mailbox_id=mailbox.id, messages=messages),
        known=load_known_threads(
            session,
            message_ids={thread_id for message in messages for thread_id in message.thread_ids},
            subjects=(message.parsed.subject for message in messages if message.parsed),
        ),
    )
    outcomes = [batch.add(message) for message in messages]
    batch.write()
    return outcomes


@dataclass
class _LoggedKeys:
    """What identifies a message already logged in the mailbox."""

    contents: set[tuple[str, str]] = field(default_factory=set)  # (Message-ID, fingerprint)
    positions: set[ImapPosition] = field(default_factory=set)

    def holds(self, message: IncomingMessage) -> bool:
        """True when this message, or the one at its IMAP position, is already logged."""
        return (message.message_id, message.fingerprint) in self.contents or (
            message.imap_position in self.positions
        )

    def remember(self, message: IncomingMessage) -> None:
        """Count a message as logged."""
        self.contents.add((message.message_id, message.fingerprint))
        if message.imap_position is not None:
            self.positions.add(message.imap_position)


def _load_logged_keys(
    session: Session, *, mailbox_id: int, messages: Sequence[IncomingMessage]
) -> _LoggedKeys:
    """The keys, among those of the batch, already in the database."""
    logged = _LoggedKeys()
    for message_ids in in_list_chunks(sorted({message.message_id for message in messages})):
        logged.contents.update(
            session.exec(
                select(Message.rfc_message_id, Message.fingerprint).where(
                    col(Message.mailbox_id) == mailbox_id,
                    col(Message.rfc_message_id).in_(message_ids),
                )
            ).all()
        )
    folders: dict[tuple[str, int], set[int]] = {}
    for message in messages:
        if (position := message.imap_position) is not None:
            folders.setdefault((position.folder, position.uidvalidity), set()).add(position.uid)
    for (folder, uidvalidity), uids in folders.items():
        for uid_chunk in in_list_chunks(sorted(uids)):
            found = session.exec(
                select(Message.imap_uid).where(
                    col(Message.mailbox_id) == mailbox_id,
                    col(Message.imap_folder) == folder,
                    col(Message.imap_uidvalidity) == uidvalidity,
                    col(Message.imap_uid).in_(uid_chunk),
                )
            ).all()
            logged.positions.update(ImapPosition(folder, uidvalidity, uid) for uid in found if uid)
    return logged


@dataclass(eq=False)
class _Slot:
    """The case a message of the batch joins: an existing one, or one the batch opens."""

    existing: Case | None = None
    opener: IncomingMessage | None = None
    case_id: int | None = None


@dataclass
class _Batch:
    """The messages of a batch, each assigned its case, written in bulk at the end."""

    session: Session
    mailbox: Mailbox
    settings: Settings
    logged: _LoggedKeys
    known: KnownThreads
    entries: list[tuple[IncomingMessage, _Slot, IngestOutcome]] = field(default_factory=list)
    # Message-ID -> (position in entries, slot) of the batch's messages.
    slots_by_message_id: dict[str, tuple[int, _Slot]] = field(default_factory=dict)
    slots_by_case_id: dict[int, _Slot] = field(default_factory=dict)

    def add(self, message: IncomingMessage) -> IngestOutcome:
        """Decide what logging this message does; nothing is written yet."""
        if self.logged.holds(message):
            return IngestOutcome.DUPLICATE
        self.logged.remember(message)
        slot = self._thread_slot(message)
        outcome = IngestOutcome.NEW_MESSAGE
        if slot is None:
            slot = _Slot(opener=message)
            outcome = IngestOutcome.NEW_CASE
        self.slots_by_message_id[message.message_id] = (len(self.entries), slot)
        self.entries.append((message, slot, outcome))
        return outcome

    def _thread_slot(self, message: IncomingMessage) -> _Slot | None:
        thread_ids = message.thread_ids
        # Messages of this batch are later than any in the database: the latest answered wins.
        in_batch = [
            self.slots_by_message_id[i] for i in thread_ids if i in self.slots_by_message_id
        ]
        if in_batch:
            return max(in_batch, key=lambda entry: entry[0])[1]
        if message.parsed is None:
            return None
        case_id = self.known.case_id_for(message_ids=thread_ids, subject=message.parsed.subject)
        return None if case_id is None else self._existing_slot(case_id)

    def _existing_slot(self, case_id: int) -> _Slot | None:
        case = follow_merges(self.session, case_id=case_id)
        if case is None or case.id is None:
            return None
        if case.id not in self.slots_by_case_id:
            if case.status is CaseStatus.CLOSED:
                _reopen(self.session, case=case)
            self.slots_by_case_id[case.id] = _Slot(existing=case, case_id=case.id)
        return self.slots_by_case_id[case.id]

    def write(self) -> None:
        """Insert the new cases, the messages, their attachments and audit events in bulk."""
        if not self.entries:
            return
        self._insert_cases([slot for _, slot, outcome in self.entries if slot.opener])
        message_ids = self._insert_messages()
        attachments = [
            _attachment_values(
                message_id=message_id, position=position, parsed=parsed, stored=stored
            )
            for message_id, (message, _, _) in zip(message_ids, self.entries, strict=True)
            if (parsed := message.parsed) is not None
            for position, stored in enumerate(message.attachments)
        ]
        if attachments:
            _bulk_insert(self.session, Attachment, rows=attachments)
        _bulk_insert(
            self.session,
            AuditEvent,
            rows=[
                _event_values(message=message, message_row_id=row_id, slot=slot, outcome=outcome)
                for row_id, (message, slot, outcome) in zip(message_ids, self.entries, strict=True)
            ],
        )

    # Rows are inserted without RETURNING, then their ids read back by their unique keys:
    # psycopg sends a plain multi-row INSERT several times faster than one with RETURNING.

    def _insert_cases(self, slots: list[_Slot]) -> None:
        if not slots:
            return
        references = self._allocate_references(slots)
        _bulk_insert(
            self.session,
            Case,
            rows=[
                _case_values(
                    slot.opener, mailbox=self.mailbox, settings=self.settings, reference=reference
                )
                for slot, reference in zip(slots, references, strict=True)
                if slot.opener is not None
            ],
        )
        case_ids: dict[str, int] = {}
        for chunk in in_list_chunks(references):
            rows = self.session.exec(
                select(Case.reference, Case.id).where(col(Case.reference).in_(chunk))
            ).all()
            case_ids.update((reference, case_id) for reference, case_id in rows if case_id)
        for slot, reference in zip(slots, references, strict=True):
            slot.case_id = case_ids[reference]

    def _insert_messages(self) -> list[int]:
        """Insert the batch's messages; their ids, in order."""
        _bulk_insert(
            self.session,
            Message,
            rows=[self._message_values(message, slot) for message, slot, _ in self.entries],
        )
        row_ids: dict[tuple[str, str], int] = {}
        for chunk in in_list_chunks(sorted({message.message_id for message, _, _ in self.entries})):
            rows = self.session.exec(
                select(Message.rfc_message_id, Message.fingerprint, Message.id).where(
                    col(Message.mailbox_id) == self.mailbox.id,
                    col(Message.rfc_message_id).in_(chunk),
                )
            ).all()
            row_ids.update(
                ((message_id, print_), row_id) for message_id, print_, row_id in rows if row_id
            )
        return [
            row_ids[(message.message_id, message.fingerprint)] for message, _, _ in self.entries
        ]

    def _allocate_references(self, slots: list[_Slot]) -> list[str]:
        """Consecutive references, numbered in order of arrival within each year."""
        years = [
            slot.opener.received_at.astimezone(self.settings.tzinfo).year
            for slot in slots
            if slot.opener is not None
        ]
        allocated = {
            year: iter(
                allocate_case_references(
                    self.session,
                    prefix=self.settings.prefecture.case_reference_prefix,
                    year=year,
                    count=years.count(year),
                )
            )
            for year in sorted(set(years))
        }
        return [str(next(allocated[year])) for year in years]

    def _message_values(self, message: IncomingMessage, slot: _Slot) -> dict[str, Any]:
        position = message.imap_position
        values: dict[str, Any] = {
            "case_id": slot.case_id,
            "direction": MessageDirection.INBOUND,
            "mailbox_id": self.mailbox.id,
            "imap_folder": position.folder if position else None,
            "imap_uidvalidity": position.uidvalidity if position else None,
            "imap_uid": position.uid if position else None,
            "rfc_message_id": message.message_id,
            "fingerprint": message.fingerprint,
            "subject": UNREADABLE_SUBJECT,
            "body_text": "",
            "received_at": message.received_at,
            "registered_at": utc_now(),
            "raw_sha256": message.raw_sha256,
            "raw_size": message.raw_size,
            "parse_error": message.parse_error,
        }
        if message.parsed is not None:
            values.update(_parsed_values(message.parsed))
        return values


def _bulk_insert(session: Session, model: type[SQLModel], *, rows: list[dict[str, Any]]) -> None:
    """One multi-row INSERT for rows that all have the same keys.

    render_nulls keeps None values in: without it the ORM drops them and splits the rows
    into one statement per pattern of missing values.
    """
    session.execute(insert(model).execution_options(render_nulls=True), rows)


def _parsed_values(parsed: ParsedMessage) -> dict[str, Any]:
    return {
        "in_reply_to": parsed.in_reply_to,
        "reference_ids": list(parsed.references),
        "subject": parsed.subject,
        "from_name": parsed.sender.name if parsed.sender else None,
        "from_address": parsed.sender.address if parsed.sender else None,
        "to_addresses": [address.address for address in parsed.to],
        "cc_addresses": [address.address for address in parsed.cc],
        "date_header": parsed.date,
        "headers": [list(header) for header in parsed.headers],
        "body_text": parsed.body_text,
        "body_html": parsed.body_html,
        "parse_defects": list(parsed.defects),
    }


def _case_values(
    message: IncomingMessage, *, mailbox: Mailbox, settings: Settings, reference: str
) -> dict[str, Any]:
    parsed = message.parsed
    sender = parsed.sender if parsed else None
    values: dict[str, Any] = {
        "reference": reference,
        "kind": default_kind(mailbox.kind),
        "mailbox_id": mailbox.id,
        "service_id": mailbox.service_id,
        "subject": (parsed.subject or NO_SUBJECT) if parsed else UNREADABLE_SUBJECT,
        "sender_name": sender.name if sender else None,
        "sender_email": sender.address if sender else None,
        "received_at": message.received_at,
        "registered_at": utc_now(),
        "updated_at": utc_now(),
        "needs_attention": parsed is None,
        "attention_reason": (
            f"Message illisible, conservé brut : {message.parse_error}" if parsed is None else None
        ),
        "suggested_kind": None,
        "acknowledgement_skip_reason": None,
    }
    if parsed is not None and suggest_complaint(
        subject=parsed.subject, body=parsed.body_text, keywords=settings.complaint_keywords
    ):
        values["suggested_kind"] = CaseKind.COMPLAINT
    if message.received_at.astimezone(settings.tzinfo).date() < mailbox.start_date:
        values["acknowledgement_skip_reason"] = BEFORE_START_REASON
    return values


def _attachment_values(
    *, message_id: int, position: int, parsed: ParsedMessage, stored: StoredFile
) -> dict[str, Any]:
    attachment = parsed.attachments[position]
    return {
        "message_id": message_id,
        "position": position,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "content_id": attachment.content_id,
        "is_inline": attachment.is_inline,
    }


def _event_values(
    *, message: IncomingMessage, message_row_id: int, slot: _Slot, outcome: IngestOutcome
) -> dict[str, Any]:
    return {
        "occurred_at": utc_now(),
        "actor_label": POLLER,
        "action": "case.opened" if outcome is IngestOutcome.NEW_CASE else "message.received",
        "case_id": slot.case_id,
        "object_type": "message",
        "object_id": str(message_row_id),
        "changes": {},
        "details": {"message_id": message.message_id},
    }


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
