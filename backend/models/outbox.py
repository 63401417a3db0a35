"""Outgoing e-mail, written in the transaction that decides to send it, delivered by a task."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.fields import enum_field, foreign_key, json_field, text_field, timestamp_field


class OutboxStatus(StrEnum):
    """Delivery state of an outgoing e-mail."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # The worker stopped after the message data started to go out and before the server's
    # answer was recorded: it may have been delivered, so it is not resent without a person.
    UNCERTAIN = "uncertain"


class OutboxPurpose(StrEnum):
    """Why the e-mail is sent."""

    ACKNOWLEDGEMENT = "acknowledgement"
    REPLY = "reply"
    LETTER = "letter"
    ALERT = "alert"


class OutboxEmail(SQLModel, table=True):
    """One e-mail to deliver, its exact MIME bytes in the file store."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        sa.Index("ix_outbox_emails_status_next_attempt_at", "status", "next_attempt_at"),
        # How many automatic replies one address got lately (the loop guard).
        sa.Index(
            "ix_outbox_emails_purpose_recipient_created_at", "purpose", "recipient", "created_at"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = foreign_key("cases.id")
    # The outbound message of the case thread, when the e-mail is one.
    message_id: int | None = foreign_key("messages.id", index=False)
    purpose: OutboxPurpose = enum_field(OutboxPurpose, default=OutboxPurpose.REPLY)
    # Stable Message-ID: a retried send is recognisable and never a new message.
    rfc_message_id: str = Field(max_length=998, unique=True)
    from_address: str = Field(max_length=320)
    recipients: list[str] = json_field(default_factory=list)
    # The first recipient, lower-cased.
    recipient: str = Field(default="", max_length=320)
    subject: str = text_field(nullable=False)
    # None until composed: acknowledgements are rendered by the worker, just before sending.
    raw_sha256: str | None = Field(default=None, max_length=64)
    status: OutboxStatus = enum_field(OutboxStatus, default=OutboxStatus.QUEUED)
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field()
    last_attempt_at: datetime | None = timestamp_field()
    # Set, and committed, just before the message data is handed to the server.
    transmission_started_at: datetime | None = timestamp_field()
    last_error: str | None = text_field()
    sent_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
