"""The typed values the parser produces."""

import hashlib
from dataclasses import dataclass
from datetime import datetime


class MessageParseError(ValueError):
    """Input that is not a message at all (malformed messages parse, with defects)."""


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """A mailbox: decoded display name (None when absent) and address, domain in lower case."""

    name: str | None
    address: str


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    """A file carried by a message: decoded name, content type and content."""

    filename: str | None
    content_type: str
    content: bytes
    content_id: str | None
    is_inline: bool

    @property
    def size(self) -> int:
        """The content's length in bytes."""
        return len(self.content)

    @property
    def sha256(self) -> str:
        """The content's SHA-256, in hexadecimal."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything the pipeline needs from one raw message."""

    message_id: str
    message_id_synthesised: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender: ParsedAddress | None
    to: tuple[ParsedAddress, ...]
    cc: tuple[ParsedAddress, ...]
    reply_to: tuple[ParsedAddress, ...]
    date: datetime | None
    headers: tuple[tuple[str, str], ...]
    automation_markers: tuple[str, ...]
    body_text: str
    body_html: str | None
    attachments: tuple[ParsedAttachment, ...]
    defects: tuple[str, ...]
    fingerprint: str

    @property
    def reply_address(self) -> ParsedAddress | None:
        """Where an answer goes: Reply-To (web forms send from noreply), else the sender."""
        return self.reply_to[0] if self.reply_to else self.sender
