"""Which case an incoming message belongs to: by Message-ID, then by reference in the subject."""

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, func, select

from backend.cases.references import case_ids_by_reference
from backend.database import in_list_chunks
from backend.mail.parser import is_made_up_message_id
from backend.models import Case, Message, MessageDirection, OutboxEmail

# "[GERS-2026-000123]", as our acknowledgements and replies put it in the subject.
REFERENCE_IN_SUBJECT = re.compile(r"\[\s*([A-Z0-9][A-Z0-9-]*-\d{4}-\d{6})\s*\]")
MAX_MERGE_HOPS = 20


def references_in_subject(subject: str) -> list[str]:
    """The case references a subject quotes between brackets."""
    return REFERENCE_IN_SUBJECT.findall(subject.upper())


@dataclass
class KnownThreads:
    """What the database knows about the Message-IDs and references a batch of messages cites.

    Loaded with a few queries for a whole batch instead of several per message.
    """

    # Message-ID -> (row id, case id) of the latest logged message bearing it.
    message_cases: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Message-ID -> (row id, case id) of the latest outbox e-mail bearing it.
    outbox_cases: dict[str, tuple[int, int]] = field(default_factory=dict)
    reference_cases: dict[str, int] = field(default_factory=dict)
    # The cases all of the above point to, loaded in one query.
    cases: dict[int, Case] = field(default_factory=dict)

    def surviving_case(self, session: Session, *, case_id: int) -> Case | None:
        """The case a message for this one joins: the surviving case when it was merged."""
        case = self._case(session, case_id=case_id)
        for _ in range(MAX_MERGE_HOPS):
            if case is None or case.merged_into_id is None:
                return case
            case = self._case(session, case_id=case.merged_into_id)
        return case

    def _case(self, session: Session, *, case_id: int) -> Case | None:
        return self.cases.get(case_id) or session.get(Case, case_id)

    def case_ids(self) -> set[int]:
        """Every case these lookups point to."""
        cited = {
            case_id for _, case_id in [*self.message_cases.values(), *self.outbox_cases.values()]
        }
        return cited | set(self.reference_cases.values())

    def case_id_for(self, *, message_ids: Sequence[str], subject: str) -> int | None:
        """The case of the latest message (then outbox e-mail) answered, else the quoted one."""
        for known in (self.message_cases, self.outbox_cases):
            matches = [known[message_id] for message_id in message_ids if message_id in known]
            if matches:
                return max(matches)[1]
        by_reference = [
            self.reference_cases[reference]
            for reference in references_in_subject(subject)
            if reference in self.reference_cases
        ]
        return max(by_reference, default=None)


def load_known_threads(
    session: Session, *, message_ids: Collection[str], subjects: Iterable[str]
) -> KnownThreads:
    """Look up, in one go, every Message-ID and subject reference a batch cites."""
    known = KnownThreads()
    for chunk in in_list_chunks(sorted(set(message_ids))):
        known.message_cases.update(_latest_by_message_id(session, message_ids=chunk))
        known.outbox_cases.update(_latest_outbox_by_message_id(session, message_ids=chunk))
    known.reference_cases = case_ids_by_reference(
        session, references=[ref for subject in subjects for ref in references_in_subject(subject)]
    )
    for case_ids in in_list_chunks(sorted(known.case_ids())):
        known.cases.update(
            (case.id, case)
            for case in session.exec(select(Case).where(col(Case.id).in_(case_ids)))
            if case.id is not None
        )
    return known


def _latest_by_message_id(
    session: Session, *, message_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    latest = (
        select(Message.rfc_message_id, func.max(Message.id).label("row_id"))
        .where(col(Message.rfc_message_id).in_(message_ids))
        .group_by(col(Message.rfc_message_id))
        .subquery()
    )
    rows = session.exec(
        select(latest.c.rfc_message_id, latest.c.row_id, Message.case_id).join(
            Message, col(Message.id) == latest.c.row_id
        )
    ).all()
    return {message_id: (row_id, case_id) for message_id, row_id, case_id in rows}


def _latest_outbox_by_message_id(
    session: Session, *, message_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    # Acknowledgements and letters are sent from the outbox and may have no message row;
    # an outbox Message-ID is unique.
    rows = session.exec(
        select(OutboxEmail.rfc_message_id, OutboxEmail.id, OutboxEmail.case_id)
        .where(col(OutboxEmail.rfc_message_id).in_(message_ids))
        .where(col(OutboxEmail.case_id).is_not(None))
    ).all()
    return {
        message_id: (row_id, case_id)
        for message_id, row_id, case_id in rows
        if row_id is not None and case_id is not None
    }


@dataclass(frozen=True, slots=True)
class AnswerThreading:
    """The In-Reply-To and References that put our answer in the citizen's thread."""

    in_reply_to: str | None
    references: tuple[str, ...]


def incoming_message(session: Session, *, case_id: int, latest: bool) -> Message | None:
    """The case's first incoming message (the one that opened it) or its latest one."""
    order = (
        (col(Message.received_at).desc(), col(Message.id).desc())
        if latest
        else (col(Message.id).asc(),)
    )
    return session.exec(
        select(Message)
        .where(col(Message.case_id) == case_id)
        .where(col(Message.direction) == MessageDirection.INBOUND)
        .order_by(*order)
        .limit(1)
    ).first()


def answer_threading(answered: Message | None) -> AnswerThreading:
    """Answer this message: its References then its Message-ID, unless we made the ID up."""
    if answered is None or is_made_up_message_id(answered.rfc_message_id):
        return AnswerThreading(in_reply_to=None, references=())
    message_id = answered.rfc_message_id
    earlier = [reference for reference in answered.reference_ids if reference != message_id]
    return AnswerThreading(in_reply_to=message_id, references=(*earlier, message_id))
