"""Cases (one correspondence or complaint, whatever its channel), their waiting periods and
the counters their references are drawn from."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import Grouping
from sqlmodel import Field, SQLModel

from backend.models.fields import enum_field, foreign_key, text_field, timestamp_field

# The subject shown for a message that has none.
NO_SUBJECT = "(sans objet)"


class CaseChannel(StrEnum):
    """How the correspondence reached the préfecture."""

    EMAIL = "email"
    PAPER = "paper"
    SUGGESTION_BOX = "suggestion_box"


class CaseKind(StrEnum):
    """What the citizen asks for; complaints have their own delay target."""

    INFORMATION_REQUEST = "information_request"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    RESIDENCE = "residence"
    OTHER = "other"


class CaseStatus(StrEnum):
    """Where the case stands in its lifecycle."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CITIZEN = "waiting_citizen"
    ANSWERED = "answered"
    CLOSED = "closed"


class AnswerChannel(StrEnum):
    """How the first substantive answer was given."""

    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"
    POST = "post"
    IN_PERSON = "in_person"


AWAITING_PREDICATE = (
    "status IN ('assigned', 'in_progress', 'new', 'waiting_citizen') AND merged_into_id IS NULL"
)


class Case(SQLModel, table=True):
    """One correspondence or complaint, with every timestamp the delay indicators need."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_status_due_date", "status", "due_date"),
        # The indicators select a period's answers and receipts by local date; the second
        # index holds every column they read, so SQLite scans it instead of the wide rows.
        sa.Index("ix_cases_answered_on", "answered_on"),
        sa.Index(
            "ix_cases_indicators",
            "received_on",
            "answered_on",
            "holding_reply_on",
            "closed_on",
            "due_date",
            "channel",
            "kind",
            "mailbox_id",
            "service_id",
            "merged_into_id",
        ),
        # Keyset pagination of the case lists: the most urgent first, or the most recent.
        sa.Index("ix_cases_due_date_id", "due_date", "id"),
        sa.Index("ix_cases_received_at_id", "received_at", "id"),
        # The inbox: the few thousand cases still owed an answer, most urgent first, out of
        # years of closed ones (the statuses of backend.cases.workflow.AWAITING_ANSWER).
        sa.Index(
            "ix_cases_awaiting_due_date",
            "due_date",
            "id",
            postgresql_where=sa.text(AWAITING_PREDICATE),
            sqlite_where=sa.text(AWAITING_PREDICATE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40, unique=True)
    channel: CaseChannel = enum_field(CaseChannel, default=CaseChannel.EMAIL)
    kind: CaseKind = enum_field(CaseKind, default=CaseKind.OTHER)
    # Proposed by the keyword rules, confirmed or not by an agent.
    suggested_kind: CaseKind | None = enum_field(CaseKind)
    status: CaseStatus = enum_field(CaseStatus, default=CaseStatus.NEW)
    mailbox_id: int | None = foreign_key("mailboxes.id")
    service_id: int | None = foreign_key("services.id")
    assignee_id: int | None = foreign_key("users.id")
    subject: str = text_field(nullable=False)
    sender_name: str | None = Field(default=None, max_length=320)
    sender_email: str | None = Field(default=None, max_length=320, index=True)
    sender_postal_address: str | None = text_field()
    # Legal start of every delay: IMAP INTERNALDATE, else Date, else ingestion; stamp on paper.
    received_at: datetime = timestamp_field(nullable=False, index=True)
    # The days, at the préfecture, of receipt, holding reply and answer: delays count days in
    # the préfecture's time zone, which SQLite cannot convert to, so they are stored beside
    # the instants (see backend/indicators).
    received_on: date
    registered_at: datetime = timestamp_field(now=True)
    acknowledged_at: datetime | None = timestamp_field()
    acknowledgement_skip_reason: str | None = Field(default=None, max_length=200)
    holding_reply_at: datetime | None = timestamp_field()
    holding_reply_on: date | None = None
    holding_reply_delay_days: int | None = None
    # First substantive answer; an automatic acknowledgement never is one.
    answered_at: datetime | None = timestamp_field()
    answered_on: date | None = None
    answer_channel: AnswerChannel | None = enum_field(AnswerChannel)
    closed_at: datetime | None = timestamp_field()
    closed_on: date | None = None
    due_date: date | None = Field(default=None)
    needs_attention: bool = False
    attention_reason: str | None = text_field()
    merged_into_id: int | None = foreign_key("cases.id")
    # When retention (or the citizen's request) removed the personal data; dates stay.
    anonymised_at: datetime | None = timestamp_field()
    # Optimistic concurrency: two agents never silently overwrite each other.
    version: int = 1
    updated_at: datetime = timestamp_field(now=True)


def search_vector(text: Any) -> Any:
    """PostgreSQL's French full-text vector of a text: stems, no stop words, no accents folded."""
    return sa.func.to_tsvector(sa.literal_column("'french'::regconfig"), text)


def case_search_vector(cases: sa.FromClause) -> Any:
    """The full-text vector of a case's subject and sender, for the cases table or an alias.

    PostgreSQL's parser keeps an e-mail address as one word, so the address is indexed three
    ways: whole ("camille.martin@example.org"), as local part and domain ("example.org"), and
    word by word ("martin"). Literals, not bound values, so that a query's expression is the
    index's; the concatenations are grouped as PostgreSQL writes the index back, so that
    Alembic finds the model and the database equal.
    """
    space: Any = sa.literal_column("' '")
    email = sa.func.coalesce(cases.c.sender_email, sa.literal_column("''"))
    parts = [
        sa.func.coalesce(cases.c.sender_name, sa.literal_column("''")),
        email,
        sa.func.translate(email, sa.literal_column("'@'"), space),
        sa.func.translate(email, sa.literal_column("'@.+_-'"), sa.literal_column("'     '")),
    ]
    document: Any = cases.c.subject
    for part in parts:
        document = Grouping(Grouping(document.op("||")(space)).op("||")(part))
    return search_vector(document.element)


def add_search_index(table: sa.Table, *, name: str, vector: Any) -> None:
    """A GIN index of a full-text vector, on PostgreSQL only (SQLite searches with LIKE)."""
    table.append_constraint(
        sa.Index(name, vector, postgresql_using="gin").ddl_if(dialect="postgresql")
    )


CASES_TABLE: sa.Table = Case.__table__  # type: ignore[attr-defined]
add_search_index(CASES_TABLE, name="ix_cases_search", vector=case_search_vector(CASES_TABLE))


class WaitingPeriod(SQLModel, table=True):
    """An interval during which the case waits for the citizen (missing documents)."""

    __tablename__ = "waiting_periods"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = foreign_key("cases.id", nullable=False)
    started_at: datetime = timestamp_field(nullable=False)
    started_on: date
    ended_at: datetime | None = timestamp_field()
    ended_on: date | None = None
    reason: str = Field(default="missing_documents", max_length=64)


class CaseReferenceCounter(SQLModel, table=True):
    """The last case number given, per reference prefix and year."""

    __tablename__ = "case_reference_counters"

    prefix: str = Field(primary_key=True, max_length=32)
    year: int = Field(primary_key=True)
    last_number: int = 0
