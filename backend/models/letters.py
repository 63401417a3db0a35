"""Standard letters generated on a case from a template."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.fields import enum_field, foreign_key, json_field, text_field, timestamp_field


class LetterDelivery(StrEnum):
    """How a letter reached the citizen."""

    EMAIL = "email"
    POST = "post"


class Letter(SQLModel, table=True):
    """A letter rendered from a template version with its variables, kept as PDF."""

    __tablename__ = "letters"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = foreign_key("cases.id", nullable=False)
    template_name: str = Field(max_length=100)
    # sha256 of the template files used, so a letter can be traced to its exact wording.
    template_version: str = Field(max_length=64)
    variables: dict[str, Any] = json_field(default_factory=dict)
    created_by_id: int | None = foreign_key("users.id", index=False)
    created_at: datetime = timestamp_field(now=True)
    pdf_sha256: str | None = Field(default=None, max_length=64)
    pdf_size: int | None = None
    delivery: LetterDelivery | None = enum_field(LetterDelivery)
    sent_at: datetime | None = timestamp_field()
    outbox_email_id: int | None = foreign_key("outbox_emails.id", index=False)
    # Set by a queued letter: a task delivered twice finds its letter and does nothing more.
    request_id: str | None = Field(default=None, max_length=64, unique=True)


class CannedReply(SQLModel, table=True):
    """A reusable reply text of a service (or of every service), a template with variables."""

    __tablename__ = "canned_replies"

    id: int | None = Field(default=None, primary_key=True)
    # None: offered to every service.
    service_id: int | None = foreign_key("services.id")
    title: str = Field(max_length=200)
    body: str = text_field(nullable=False)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class AppointmentSlot(SQLModel, table=True):
    """An appointment a service offers; once given in a letter, it is never given again."""

    __tablename__ = "appointment_slots"
    __table_args__ = (sa.UniqueConstraint("service_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = foreign_key("services.id", nullable=False, index=False)
    starts_at: datetime = timestamp_field(nullable=False)
    place: str = text_field(nullable=False)
    # Set once, by a compare-and-set on NULL: two letters never get the same slot.
    case_id: int | None = foreign_key("cases.id")
    given_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
