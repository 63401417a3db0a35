"""Reading cases and what hangs off them."""

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Text, cast, func, literal, literal_column, or_, tuple_, union
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlmodel import Session, col, select

from backend.audit.service import READ_ACTIONS
from backend.cases.workflow import AWAITING_ANSWER
from backend.config import Settings
from backend.database import in_list_chunks
from backend.indicators.delays import WaitingDays
from backend.models import (
    Attachment,
    AuditEvent,
    CannedReply,
    Case,
    CaseChannel,
    CaseKind,
    CaseStatus,
    Letter,
    Message,
    OutboxEmail,
    WaitingPeriod,
)
from backend.models.cases import CASES_TABLE, case_search_vector, search_vector
from backend.models.types import UTCDateTime
from backend.users.access import Viewer, visible_cases


def case_messages(session: Session, *, case_id: int) -> list[tuple[Message, list[Attachment]]]:
    """The case's messages in order of arrival, each with its attachments."""
    messages = session.exec(
        select(Message).where(col(Message.case_id) == case_id).order_by(col(Message.received_at))
    ).all()
    ids = [message.id for message in messages]
    attachments: dict[int, list[Attachment]] = {}
    for attachment in session.exec(
        select(Attachment)
        .where(col(Attachment.message_id).in_(ids))
        .order_by(col(Attachment.message_id), col(Attachment.position))
    ).all():
        attachments.setdefault(attachment.message_id, []).append(attachment)
    return [(message, attachments.get(message.id or 0, [])) for message in messages]


def case_attachment(session: Session, *, case_id: int, attachment_id: int) -> Attachment | None:
    """An attachment of one of the case's messages."""
    return session.exec(
        select(Attachment)
        .join(Message, col(Message.id) == col(Attachment.message_id))
        .where(col(Attachment.id) == attachment_id)
        .where(col(Message.case_id) == case_id)
    ).first()


def case_letters(session: Session, *, case_id: int) -> Sequence[Letter]:
    """The standard letters generated on the case, oldest first."""
    return session.exec(
        select(Letter).where(col(Letter.case_id) == case_id).order_by(col(Letter.id))
    ).all()


def case_outbox(session: Session, *, case_id: int) -> Sequence[OutboxEmail]:
    """The e-mails sent or to send on the case, oldest first."""
    return session.exec(
        select(OutboxEmail).where(col(OutboxEmail.case_id) == case_id).order_by(col(OutboxEmail.id))
    ).all()


def case_events(session: Session, *, case_id: int) -> Sequence[AuditEvent]:
    """The case's timeline, with those of the cases merged into it, oldest first.

    Who read the case is in the audit trail, not in the timeline of what happened to it.
    """
    merged = select(Case.id).where(col(Case.merged_into_id) == case_id)
    return session.exec(
        select(AuditEvent)
        .where(or_(col(AuditEvent.case_id) == case_id, col(AuditEvent.case_id).in_(merged)))
        .where(col(AuditEvent.action).not_in(READ_ACTIONS))
        .order_by(col(AuditEvent.occurred_at), col(AuditEvent.id))
    ).all()


def case_waiting_periods(session: Session, *, case_id: int) -> Sequence[WaitingPeriod]:
    """When the case waited for the citizen."""
    return session.exec(
        select(WaitingPeriod)
        .where(col(WaitingPeriod.case_id) == case_id)
        .order_by(col(WaitingPeriod.started_at))
    ).all()


def waiting_days(session: Session, *, case_ids: Sequence[int]) -> dict[int, list[WaitingDays]]:
    """The waits of these cases, by case, for their delays."""
    waits: dict[int, list[WaitingDays]] = defaultdict(list)
    for chunk in in_list_chunks(case_ids):
        periods = session.exec(
            select(WaitingPeriod)
            .where(col(WaitingPeriod.case_id).in_(chunk))
            .order_by(col(WaitingPeriod.started_at))
        )
        for period in periods:
            waits[period.case_id].append(WaitingDays(period.started_on, period.ended_on))
    return waits


def canned_replies(session: Session, *, service_id: int | None) -> Sequence[CannedReply]:
    """Every canned reply, or a service's and those of every service, by title."""
    query = select(CannedReply).order_by(col(CannedReply.title))
    if service_id is not None:
        query = query.where(
            or_(col(CannedReply.service_id).is_(None), col(CannedReply.service_id) == service_id)
        )
    return session.exec(query).all()


class CaseSort(StrEnum):
    """The orders a case list can take."""

    DUE_DATE = "due_date"  # most urgent first
    RECEIVED_AT = "received_at"  # most recent first


@dataclass(frozen=True, slots=True)
class CaseFilters:
    """What a case list is narrowed to; None means any."""

    mailbox_id: int | None = None
    channel: CaseChannel | None = None
    kind: CaseKind | None = None
    status: CaseStatus | None = None
    awaiting_answer: bool = False  # only the cases whose answer is still due
    service_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False  # only the cases no agent holds
    overdue_on: date | None = None  # overdue as of this day
    due_before: date | None = None
    received_from: datetime | None = None
    received_until: datetime | None = None
    text: str | None = None


def case_filters(
    *,
    settings: Settings,
    mailbox_id: int | None = None,
    channel: CaseChannel | None = None,
    kind: CaseKind | None = None,
    status: CaseStatus | None = None,
    awaiting_answer: bool = False,
    service_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    overdue: bool = False,
    due_before: date | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    text: str | None = None,
) -> CaseFilters:
    """The filters as a reader gives them: whole days at the préfecture, late as of today."""
    return CaseFilters(
        mailbox_id=mailbox_id,
        channel=channel,
        kind=kind,
        status=status,
        awaiting_answer=awaiting_answer,
        service_id=service_id,
        assignee_id=assignee_id,
        unassigned=unassigned,
        overdue_on=settings.today() if overdue else None,
        due_before=due_before,
        received_from=_start_of(received_from, settings=settings),
        received_until=_start_of(
            received_to + timedelta(days=1) if received_to else None, settings=settings
        ),
        text=text.strip() if text and text.strip() else None,
    )


def _start_of(day: date | None, *, settings: Settings) -> datetime | None:
    """Midnight of that day in the préfecture's time zone."""
    return datetime.combine(day, time(0, 0), tzinfo=settings.tzinfo) if day else None


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page of a case list and where the next one starts."""

    cases: list[Case]
    next_cursor: str | None


class InvalidCursorError(ValueError):
    """A cursor this API did not give, or given for another order."""


def list_cases(
    session: Session,
    *,
    viewer: Viewer,
    filters: CaseFilters,
    sort: CaseSort,
    cursor: str | None,
    limit: int,
) -> CasePage:
    """A page of the cases the viewer may see, after the cursor: keyset pagination, as fast on
    page 500 as on page 1."""
    keys = _sort_keys(sort)
    query = (
        select(Case)
        .where(visible_cases(viewer), *_conditions(filters, dialect=_dialect(session)))
        .order_by(*keys.order)
        .limit(limit + 1)
    )
    if cursor is not None:
        query = query.where(keys.after(_decode_cursor(cursor, sort=sort)))
    cases = list(session.exec(query).all())
    more = len(cases) > limit
    cases = cases[:limit]
    next_cursor = _encode_cursor(keys.values(cases[-1]), sort=sort) if more and cases else None
    return CasePage(cases=cases, next_cursor=next_cursor)


def count_by_status(
    session: Session,
    *,
    viewer: Viewer,
    filters: CaseFilters,
    statuses: Collection[CaseStatus] = tuple(CaseStatus),
) -> dict[str, int]:
    """How many cases of the list are in each of these statuses (all by default)."""
    query = select(Case.status, func.count()).where(
        visible_cases(viewer), *_conditions(filters, dialect=_dialect(session))
    )
    if set(statuses) != set(CaseStatus):
        query = query.where(status_in(statuses))
    rows = session.exec(query.group_by(col(Case.status))).all()
    counts = dict.fromkeys((status.value for status in statuses), 0)
    counts.update((CaseStatus(status).value, count) for status, count in rows)
    return counts


def status_in(statuses: Collection[CaseStatus]) -> Any:
    """The case is in one of these statuses, the values written into the SQL: PostgreSQL then
    sees that the cases awaiting an answer are those of the partial index
    ix_cases_awaiting_due_date, whichever plan it keeps for the statement."""
    return col(Case.status).in_(
        [literal(status.value, literal_execute=True) for status in sorted(statuses)]
    )


@dataclass(frozen=True, slots=True)
class _SortKeys:
    order: tuple[Any, ...]
    after: Callable[[list[Any]], Any]
    values: Callable[[Case], list[Any]]


def _sort_keys(sort: CaseSort) -> _SortKeys:
    """ORDER BY, the keyset condition and the cursor values of an order."""
    if sort is CaseSort.DUE_DATE:
        return _SortKeys(
            order=(col(Case.due_date).asc(), col(Case.id).asc()),
            after=lambda v: (
                tuple_(col(Case.due_date), col(Case.id))
                > tuple_(literal(date.fromisoformat(v[0])), literal(v[1]))
            ),
            values=lambda case: [case.due_date.isoformat() if case.due_date else None, case.id],
        )
    return _SortKeys(
        order=(col(Case.received_at).desc(), col(Case.id).desc()),
        after=lambda v: (
            tuple_(col(Case.received_at), col(Case.id))
            < tuple_(literal(datetime.fromisoformat(v[0]), UTCDateTime), literal(v[1]))
        ),
        values=lambda case: [case.received_at.isoformat(), case.id],
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _conditions(filters: CaseFilters, *, dialect: str) -> list[Any]:
    """The WHERE clauses of the filters."""
    equal = {
        Case.mailbox_id: filters.mailbox_id,
        Case.channel: filters.channel,
        Case.kind: filters.kind,
        Case.status: filters.status,
        Case.service_id: filters.service_id,
        Case.assignee_id: filters.assignee_id,
    }
    # A merged case lives on in the one it was merged into.
    conditions: list[Any] = [col(Case.merged_into_id).is_(None)]
    conditions += [col(column) == value for column, value in equal.items() if value is not None]
    if filters.unassigned:
        conditions.append(col(Case.assignee_id).is_(None))
    if filters.awaiting_answer:
        conditions.append(status_in(AWAITING_ANSWER))
    if filters.overdue_on is not None:
        conditions += [col(Case.due_date) < filters.overdue_on, status_in(AWAITING_ANSWER)]
    if filters.due_before is not None:
        conditions.append(col(Case.due_date) < filters.due_before)
    if filters.received_from is not None:
        conditions.append(col(Case.received_at) >= filters.received_from)
    if filters.received_until is not None:
        conditions.append(col(Case.received_at) < filters.received_until)
    if filters.text:
        # The cases awaiting an answer are a few thousand at most: testing each is quicker than
        # gathering every match of a common word from the indexes.
        few = filters.awaiting_answer or filters.overdue_on is not None
        conditions.append(
            _full_text_condition(filters.text, few_candidates=few)
            if dialect == "postgresql"
            else _text_condition(filters.text)
        )
    return conditions


_LEXEME = r"'((?:[^']|'')+)'"


def _full_text_condition(text: str, *, few_candidates: bool) -> Any:
    """PostgreSQL: the words of the text (French stems) in the subject and sender of the case,
    or in one of its messages' bodies; both found through their GIN indexes.

    Words, not substrings: "réclamations" finds "réclamation", "titre séjour" finds both words
    in any order, "-refus" excludes, quotes ask for a phrase (websearch_to_tsquery); each word
    also finds the words it begins ("citoy" finds "citoyen", as one types); a search of stop
    words only ("le") finds nothing. An address is found whole ("camille.martin@example.org"),
    by its domain ("example.org") or by one of its words ("martin"): see case_search_vector.
    Accents matter ("sejour" does not find "séjour").
    """
    words = func.websearch_to_tsquery(literal_column("'french'::regconfig"), text)
    # 'titr' & 'séjour' becomes 'titr':* & 'séjour':* (a lexeme is quoted, its quotes doubled).
    query = cast(func.regexp_replace(cast(words, Text), _LEXEME, r"'\1':*", "g"), TSQUERY)
    if few_candidates:
        in_body_of_case = (
            select(col(Message.id))
            .where(col(Message.case_id) == col(Case.id))
            .where(search_vector(col(Message.body_text)).op("@@")(query))
            .exists()
        )
        return or_(case_search_vector(CASES_TABLE).op("@@")(query), in_body_of_case)
    matching = CASES_TABLE.alias("matching_cases")
    # One set of ids from both indexes, not an OR with a correlated EXISTS: an OR would make
    # PostgreSQL compute the vector of every visible case instead of reading the index.
    in_case = select(matching.c.id).where(case_search_vector(matching).op("@@")(query))
    in_body = select(col(Message.case_id)).where(
        search_vector(col(Message.body_text)).op("@@")(query)
    )
    return col(Case.id).in_(union(in_case, in_body))


def _text_condition(text: str) -> Any:
    """SQLite: the text as a substring of the subject, the sender or a message body, ignoring
    case (all alphabets: see backend.database).

    Unlike PostgreSQL's full-text search, no stemming ("réclamations" does not find
    "réclamation"), the words must follow each other as typed, and part of a word matches
    ("citoy" finds "citoyen"); every row is read, which is fine at SQLite's scale.
    """
    escaped = "".join(f"!{char}" if char in "!%_" else char for char in text.lower())
    pattern = f"%{escaped}%"

    def contains(column: Any) -> Any:
        return func.lower(column).like(pattern, escape="!")

    in_body = (
        select(Message.id)
        .where(col(Message.case_id) == col(Case.id))
        .where(contains(Message.body_text))
        .exists()
    )
    return or_(
        contains(Case.subject), contains(Case.sender_name), contains(Case.sender_email), in_body
    )


def _encode_cursor(values: list[Any], *, sort: CaseSort) -> str:
    payload = json.dumps([sort.value, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, *, sort: CaseSort) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        order, *values = json.loads(base64.urlsafe_b64decode(padded))
        values = list(values)
        if order != sort.value or len(values) != 2 or not isinstance(values[1], int):
            raise ValueError(order)
        return values
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidCursorError(
            "Curseur de pagination invalide : reprenez la liste depuis la première page."
        ) from error
