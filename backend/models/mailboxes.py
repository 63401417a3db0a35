"""Functional mailboxes polled over IMAP, and where each folder's synchronisation stands."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.fields import (
    big_integer_field,
    enum_field,
    foreign_key,
    text_field,
    timestamp_field,
)


class MailboxKind(StrEnum):
    """Which functional mailbox this is; it gives new cases their default kind."""

    CONTACT = "contact"
    SEJOUR = "sejour"
    QUALITE = "qualite"
    OTHER = "other"


class ImapTls(StrEnum):
    """How the IMAP connection is secured."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class Mailbox(SQLModel, table=True):
    """A functional mailbox; its password is read from the environment variable it names."""

    __tablename__ = "mailboxes"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    kind: MailboxKind = enum_field(MailboxKind, default=MailboxKind.OTHER)
    address: str = Field(max_length=320)
    imap_host: str = Field(max_length=255)
    imap_port: int = 993
    imap_tls: ImapTls = enum_field(ImapTls, default=ImapTls.SSL)
    imap_username: str = Field(max_length=320)
    password_env: str = Field(max_length=128)
    folder: str = Field(default="INBOX", max_length=255)
    enabled: bool = True
    # Mail received before this date is not imported (or, when asked, imported without
    # acknowledgement): connecting a mailbox never floods anyone.
    start_date: date
    import_before_start_date: bool = False
    service_id: int | None = foreign_key("services.id")
    auto_reply: bool = True
    mark_seen: bool = False
    move_to_folder: str | None = Field(default=None, max_length=255)
    last_poll_at: datetime | None = timestamp_field()
    last_success_at: datetime | None = timestamp_field()
    last_error: str | None = text_field()
    last_error_at: datetime | None = timestamp_field()
    consecutive_failures: int = 0
    # After a failure the next periodic poll waits (exponential backoff).
    next_poll_at: datetime | None = timestamp_field()
    # A lease, not a lock: a poller that dies leaves it to expire instead of blocking forever.
    poll_lease_owner: str | None = Field(default=None, max_length=128)
    poll_lease_expires_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)


class MailboxSyncState(SQLModel, table=True):
    """UIDVALIDITY and last UID fetched, per mailbox folder, committed with the messages."""

    __tablename__ = "mailbox_sync_states"
    __table_args__ = (sa.UniqueConstraint("mailbox_id", "folder"),)

    id: int | None = Field(default=None, primary_key=True)
    mailbox_id: int = foreign_key("mailboxes.id", nullable=False, index=False)
    folder: str = Field(max_length=255)
    uidvalidity: int = big_integer_field(nullable=False)
    last_uid: int = big_integer_field(nullable=False, default=0)
    updated_at: datetime = timestamp_field(now=True)
