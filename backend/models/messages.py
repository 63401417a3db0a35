"""Messages (incoming and outgoing e-mail) of a case, and their attachments."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.cases import add_search_index, search_vector
from backend.models.fields import (
    big_integer_field,
    enum_field,
    foreign_key,
    json_field,
    text_field,
    timestamp_field,
)


class MessageDirection(StrEnum):
    """Whether the citizen wrote to us or we wrote to the citizen."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Message(SQLModel, table=True):
    """One e-mail, its raw bytes kept unchanged in the file store."""

    __tablename__ = "messages"
    __table_args__ = (
        # An IMAP message is logged once, whatever crashes and re-polls happen.
        sa.UniqueConstraint("mailbox_id", "imap_folder", "imap_uidvalidity", "imap_uid"),
        # The same message re-delivered, copied, or seen again after a UIDVALIDITY change is
        # logged once; distinct messages that reuse a Message-ID (broken senders) are all kept.
        sa.UniqueConstraint("mailbox_id", "rfc_message_id", "fingerprint"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = foreign_key("cases.id", nullable=False)
    direction: MessageDirection = enum_field(MessageDirection, default=MessageDirection.INBOUND)
    mailbox_id: int | None = foreign_key("mailboxes.id", index=False)
    imap_folder: str | None = Field(default=None, max_length=255)
    imap_uidvalidity: int | None = big_integer_field()
    imap_uid: int | None = big_integer_field()
    # Message-ID without angle brackets; synthesised when the message has none.
    # In-Reply-To and References hold Message-IDs in the same form.
    rfc_message_id: str = Field(max_length=998, index=True)
    in_reply_to: str | None = Field(default=None, max_length=998)
    reference_ids: list[str] = json_field(default_factory=list)
    subject: str = text_field(nullable=False)
    from_name: str | None = Field(default=None, max_length=320)
    from_address: str | None = Field(default=None, max_length=320, index=True)
    to_addresses: list[str] = json_field(default_factory=list)
    cc_addresses: list[str] = json_field(default_factory=list)
    date_header: datetime | None = timestamp_field()
    received_at: datetime = timestamp_field(nullable=False)
    registered_at: datetime = timestamp_field(now=True)
    # Decoded headers as [name, value] pairs, in order.
    headers: list[Any] = json_field(default_factory=list)
    body_text: str = text_field(nullable=False)
    # Sanitised (nh3) HTML, never the citizen's raw HTML.
    body_html: str | None = text_field()
    # sha256 of the message without its delivery trace headers (see backend.mail.parser).
    fingerprint: str = Field(max_length=64)
    raw_sha256: str | None = Field(default=None, max_length=64)
    raw_size: int | None = None
    parse_defects: list[str] = json_field(default_factory=list)
    parse_error: str | None = text_field()


MESSAGES_TABLE: sa.Table = Message.__table__  # type: ignore[attr-defined]
add_search_index(
    MESSAGES_TABLE, name="ix_messages_search", vector=search_vector(MESSAGES_TABLE.c.body_text)
)


class Attachment(SQLModel, table=True):
    """A file carried by a message, its content in the file store."""

    __tablename__ = "attachments"
    __table_args__ = (sa.UniqueConstraint("message_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = foreign_key("messages.id", nullable=False, index=False)
    position: int
    filename: str | None = Field(default=None, max_length=1000)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size: int
    sha256: str = Field(max_length=64, index=True)
    content_id: str | None = Field(default=None, max_length=998)
    is_inline: bool = False
