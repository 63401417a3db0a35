"""A fetched message made ready to log: parsed, its raw bytes and attachments stored.

Pure of any database: worker processes run this beside the poller (backend.mailboxes.pipeline).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from backend.mail.parser import ParsedMessage, parse_message
from backend.storage.filestore import FileStore, StoredFile


@dataclass(frozen=True, slots=True)
class ImapPosition:
    """Where the message sits on the IMAP server."""

    folder: str
    uidvalidity: int
    uid: int


@dataclass(frozen=True, slots=True)
class RawIncoming:
    """A message as it arrived: its bytes, the server's arrival time and where it sits."""

    raw: bytes
    internal_date: datetime | None = None
    imap_position: ImapPosition | None = None


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message to log: its raw bytes and attachments (already stored) and what parsing gave."""

    raw_sha256: str
    raw_size: int
    parsed: ParsedMessage | None
    parse_error: str | None
    received_at: datetime
    imap_position: ImapPosition | None = None
    # The file-store keys of parsed.attachments, in the same order.
    attachments: tuple[StoredFile, ...] = ()

    @property
    def message_id(self) -> str:
        """The Message-ID, or one derived from the raw bytes when parsing failed."""
        if self.parsed is not None:
            return self.parsed.message_id
        return f"{self.raw_sha256[:32]}@qualipref.invalid"

    @property
    def fingerprint(self) -> str:
        """Equal for the same message delivered twice."""
        return self.parsed.fingerprint if self.parsed is not None else self.raw_sha256

    @property
    def reply_address(self) -> str | None:
        """Where an answer to the message goes, None for an unreadable one or no address."""
        address = self.parsed.reply_address if self.parsed is not None else None
        return address.address if address else None

    @property
    def thread_ids(self) -> list[str]:
        """The Message-IDs this message answers, the most recent ancestor first."""
        if self.parsed is None:
            return []
        ids = list(reversed(self.parsed.references))
        if self.parsed.in_reply_to and self.parsed.in_reply_to not in ids:
            ids.insert(0, self.parsed.in_reply_to)
        return ids


def prepare_incoming(
    messages: Sequence[RawIncoming],
    *,
    file_store: FileStore,
    parse: Callable[[bytes], ParsedMessage] = parse_message,
) -> list[IncomingMessage]:
    """Parse each message, then keep its raw bytes and attachments durably in the file store.

    A message that cannot be parsed is kept all the same, with the error.
    """
    results = [_parse_safely(message.raw, parse=parse) for message in messages]
    attachment_contents = [
        attachment.content
        for parsed, _ in results
        if parsed is not None
        for attachment in parsed.attachments
    ]
    stored = file_store.put_many([message.raw for message in messages] + attachment_contents)
    stored_raws, stored_attachments = stored[: len(messages)], iter(stored[len(messages) :])
    prepared = []
    for message, stored_raw, (parsed, parse_error) in zip(
        messages, stored_raws, results, strict=True
    ):
        attachments = [next(stored_attachments) for _ in (parsed.attachments if parsed else ())]
        prepared.append(
            IncomingMessage(
                raw_sha256=stored_raw.sha256,
                raw_size=stored_raw.size,
                parsed=parsed,
                parse_error=parse_error,
                received_at=received_at_of(internal_date=message.internal_date, parsed=parsed),
                imap_position=message.imap_position,
                attachments=tuple(attachments),
            )
        )
    return prepared


def _parse_safely(
    raw: bytes, *, parse: Callable[[bytes], ParsedMessage]
) -> tuple[ParsedMessage | None, str | None]:
    try:
        return parse(raw), None
    except Exception as error:  # noqa: BLE001 - any message, however broken, is logged
        return None, f"{type(error).__name__}: {error}"


def received_at_of(*, internal_date: datetime | None, parsed: ParsedMessage | None) -> datetime:
    """INTERNALDATE, else the Date header, else now: the legal start of every delay, in UTC."""
    for candidate in (internal_date, parsed.date if parsed else None):
        if candidate is not None and candidate.tzinfo is not None:
            return candidate.astimezone(UTC)
    return datetime.now(UTC)
