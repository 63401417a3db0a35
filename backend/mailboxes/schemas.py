"""What the API and the CLI accept and show of a mailbox."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from backend.models import ImapTls, MailboxKind
from backend.validation import Day, PartialUpdate, RequestBody, RowId

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class MailboxBase(RequestBody):
    """Fields an administrator sets."""

    kind: MailboxKind = MailboxKind.OTHER
    address: EmailStr
    imap_host: str = Field(min_length=1, max_length=255)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_tls: ImapTls = ImapTls.SSL
    imap_username: str = Field(min_length=1, max_length=320)
    password_env: str = Field(
        max_length=128,
        pattern=ENV_NAME_PATTERN,
        description="Nom de la variable d'environnement qui contient le mot de passe IMAP.",
    )
    folder: str = Field(default="INBOX", min_length=1, max_length=255)
    enabled: bool = True
    start_date: Day = Field(
        default_factory=date.today,
        description="Le courrier reçu avant cette date n'est pas importé.",
    )
    import_before_start_date: bool = False
    service_id: RowId | None = None
    auto_reply: bool = True
    mark_seen: bool = False
    move_to_folder: str | None = Field(default=None, max_length=255)


class MailboxCreate(MailboxBase):
    """A new mailbox."""

    slug: str = Field(pattern=SLUG_PATTERN, description="Identifiant court : contact, sejour…")


class MailboxUpdate(PartialUpdate):
    """Changes to a mailbox; absent fields stay as they are."""

    NULLABLE_FIELDS = frozenset({"service_id", "move_to_folder"})

    kind: MailboxKind | None = None
    address: EmailStr | None = None
    imap_host: str | None = Field(default=None, min_length=1, max_length=255)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_tls: ImapTls | None = None
    imap_username: str | None = Field(default=None, min_length=1, max_length=320)
    password_env: str | None = Field(default=None, max_length=128, pattern=ENV_NAME_PATTERN)
    folder: str | None = Field(default=None, min_length=1, max_length=255)
    enabled: bool | None = None
    start_date: Day | None = None
    import_before_start_date: bool | None = None
    service_id: RowId | None = None
    auto_reply: bool | None = None
    mark_seen: bool | None = None
    move_to_folder: str | None = Field(default=None, max_length=255)


class MailboxPublic(MailboxCreate):
    """A mailbox as shown, with how its polling goes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    address: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll_at: datetime | None


class PollReportPublic(BaseModel):
    """What one pass over one mailbox did."""

    slug: str
    fetched: int = 0
    new_messages: int = 0
    new_cases: int = 0
    duplicates: int = 0
    error: str | None = None
