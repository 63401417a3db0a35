"""Logging incoming messages: each once, into the case it continues or a new one.

Messages come in batches (an IMAP fetch, a slice of an mbox). A batch is logged with a few
queries and bulk inserts, not several round trips per message: that is what lets one poller
keep up with a mailbox receiving thousands of messages.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, select

from backend.acknowledgements.service import (
    NewCase,
    plan_acknowledgements,
    queue_acknowledgements,
)
from backend.cases.classification import default_kind, suggest_complaint
from backend.cases.due_dates import due_date
from backend.cases.references import case_ids_by_reference, references_by_year
from backend.cases.service import end_waiting
from backend.cases.threading import KnownThreads, load_known_threads
from backend.cases.workflow import status_after_reopening
from backend.config import Settings
from backend.database import in_list_chunks
from backend.mail.incoming import ImapPosition, IncomingMessage
from backend.mail.parser import ParsedMessage
from backend.models import (
    NO_SUBJECT,
    Attachment,
    AuditEvent,
    Case,
    CaseChannel,
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
    """The case a message of the batch joins: an existing one (its id), or one it opens."""

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
    entries: list[tuple[IncomingMessage, _Slot]] = field(default_factory=list)
    # Message-ID -> (position in entries, slot) of the batch's messages.
    slots_by_message_id: dict[str, tuple[int, _Slot]] = field(default_factory=dict)
    slots_by_case_id: dict[int, _Slot] = field(default_factory=dict)
    # Every row of the batch is registered at the same moment.
    registered_at: datetime = field(default_factory=utc_now)

    def add(self, message: IncomingMessage) -> IngestOutcome:
        """Decide what logging this message does; nothing is written yet."""
        if self.logged.holds(message):
            return IngestOutcome.DUPLICATE
        self.logged.remember(message)
        slot = self._thread_slot(message) or _Slot(opener=message)
        self.slots_by_message_id[message.message_id] = (len(self.entries), slot)
        self.entries.append((message, slot))
        return IngestOutcome.NEW_CASE if slot.opener is message else IngestOutcome.NEW_MESSAGE

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
        return None if case_id is None else self._existing_slot(case_id, message=message)

    def _existing_slot(self, case_id: int, *, message: IncomingMessage) -> _Slot | None:
        case = self.known.surviving_case(self.session, case_id=case_id)
        if case is None or case.id is None:
            return None
        if case.id not in self.slots_by_case_id:
            if case.status in {CaseStatus.CLOSED, CaseStatus.ANSWERED}:
                _reopen(self.session, case=case)
            elif case.status is CaseStatus.WAITING_CITIZEN:
                self._end_waiting(case, at=message.received_at)
            self.slots_by_case_id[case.id] = _Slot(case_id=case.id)
        return self.slots_by_case_id[case.id]

    def _end_waiting(self, case: Case, *, at: datetime) -> None:
        """The citizen answered the request for documents: the wait ends when their mail came."""
        end_waiting(self.session, case=case, settings=self.settings, at=at)
        previous = case.status
        case.status = CaseStatus.IN_PROGRESS
        case.version += 1
        case.updated_at = utc_now()
        self.session.add(case)
        self.session.add(
            AuditEvent(
                actor_label=POLLER,
                action="case.documents_received",
                case_id=case.id,
                changes={"status": [previous.value, case.status.value]},
                details={"reason": "réponse du demandeur à la demande de pièces"},
            )
        )

    def write(self) -> None:
        """Insert the new cases, the messages, their attachments and audit events in bulk."""
        if not self.entries:
            return
        self._insert_cases([slot for message, slot in self.entries if slot.opener is message])
        message_ids = self._insert_messages()
        attachments = [
            _attachment_values(
                message_id=message_id, position=position, parsed=parsed, stored=stored
            )
            for message_id, (message, _) in zip(message_ids, self.entries, strict=True)
            if (parsed := message.parsed) is not None
            for position, stored in enumerate(message.attachments)
        ]
        if attachments:
            _bulk_insert(self.session, Attachment, rows=attachments)
        _bulk_insert(
            self.session,
            AuditEvent,
            rows=[
                self._event_values(message=message, message_row_id=row_id, slot=slot)
                for row_id, (message, slot) in zip(message_ids, self.entries, strict=True)
            ],
        )

    # Rows are inserted without RETURNING, then their ids read back by their unique keys:
    # psycopg sends a plain multi-row INSERT several times faster than one with RETURNING.

    def _insert_cases(self, slots: list[_Slot]) -> None:
        openers = [slot.opener for slot in slots if slot.opener is not None]
        if not openers:
            return
        references = self._allocate_references(openers)
        skip_reasons = plan_acknowledgements(
            self.session, mailbox=self.mailbox, openers=openers, settings=self.settings
        )
        _bulk_insert(
            self.session,
            Case,
            rows=[
                self._case_values(opener, reference=reference, skip_reason=skip_reason)
                for opener, reference, skip_reason in zip(
                    openers, references, skip_reasons, strict=True
                )
            ],
        )
        case_ids = case_ids_by_reference(self.session, references=references)
        for slot, reference in zip(slots, references, strict=True):
            slot.case_id = case_ids[reference]
        queue_acknowledgements(
            self.session,
            mailbox=self.mailbox,
            cases=[
                NewCase(case_id=case_ids[reference], recipient=recipient)
                for opener, reference, skip_reason in zip(
                    openers, references, skip_reasons, strict=True
                )
                if skip_reason is None and (recipient := opener.reply_address)
            ],
        )

    def _insert_messages(self) -> list[int]:
        """Insert the batch's messages; their ids, in order."""
        _bulk_insert(
            self.session,
            Message,
            rows=[self._message_values(message, slot) for message, slot in self.entries],
        )
        row_ids: dict[tuple[str, str], int] = {}
        for chunk in in_list_chunks(sorted({message.message_id for message, _ in self.entries})):
            rows = self.session.exec(
                select(Message.rfc_message_id, Message.fingerprint, Message.id).where(
                    col(Message.mailbox_id) == self.mailbox.id,
                    col(Message.rfc_message_id).in_(chunk),
                )
            ).all()
            row_ids.update(
                ((message_id, print_), row_id) for message_id, print_, row_id in rows if row_id
            )
        return [row_ids[(message.message_id, message.fingerprint)] for message, _ in self.entries]

    def _allocate_references(self, openers: list[IncomingMessage]) -> list[str]:
        """Consecutive references, numbered in order of arrival within each year."""
        return references_by_year(
            self.session,
            prefix=self.settings.prefecture.case_reference_prefix,
            years=[self.settings.local_date(opener.received_at).year for opener in openers],
        )

    def _case_values(
        self, message: IncomingMessage, *, reference: str, skip_reason: str | None
    ) -> dict[str, Any]:
        parsed = message.parsed
        sender = parsed.sender if parsed else None
        complaint = parsed is not None and suggest_complaint(
            subject=parsed.subject, body=parsed.body_text, keywords=self.settings.complaint_keywords
        )
        kind = default_kind(self.mailbox.kind)
        return {
            "reference": reference,
            "kind": kind,
            "due_date": due_date(
                received_at=message.received_at,
                channel=CaseChannel.EMAIL,
                kind=kind,
                settings=self.settings,
            ),
            "suggested_kind": CaseKind.COMPLAINT if complaint else None,
            "mailbox_id": self.mailbox.id,
            "service_id": self.mailbox.service_id,
            "subject": (parsed.subject or NO_SUBJECT) if parsed else UNREADABLE_SUBJECT,
            "sender_name": sender.name if sender else None,
            "sender_email": sender.address if sender else None,
            "received_at": message.received_at,
            "received_on": self.settings.local_date(message.received_at),
            "registered_at": self.registered_at,
            "updated_at": self.registered_at,
            "needs_attention": parsed is None,
            "attention_reason": (
                None if parsed else f"Message illisible, conservé brut : {message.parse_error}"
            ),
            "acknowledgement_skip_reason": skip_reason,
        }

    def _event_values(
        self, *, message: IncomingMessage, message_row_id: int, slot: _Slot
    ) -> dict[str, Any]:
        return {
            "occurred_at": self.registered_at,
            "actor_label": POLLER,
            "action": "case.opened" if slot.opener is message else "message.received",
            "case_id": slot.case_id,
            "object_type": "message",
            "object_id": str(message_row_id),
            "changes": {},
            "details": {"message_id": message.message_id},
        }

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
            "registered_at": self.registered_at,
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


def _reopen(session: Session, *, case: Case) -> None:
    """The citizen wrote again on a closed or answered case: there is work to do again."""
    previous = case.status
    case.status = status_after_reopening(has_agent=case.assignee_id is not None)
    case.closed_at = None
    case.closed_on = None
    case.version += 1
    case.updated_at = utc_now()
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
