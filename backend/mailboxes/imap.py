"""The IMAP side of a mailbox: connect, open a folder, list and fetch messages by UID."""

import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from backend.models import ImapTls
from backend.network import describe_network_error

FETCH_ITEMS = [b"BODY.PEEK[]", b"INTERNALDATE"]


class MailboxConnectionError(Exception):
    """The mailbox could not be reached or read; the message is for an administrator."""


@dataclass(frozen=True, slots=True)
class ImapSettings:
    """Where and how to reach one mailbox folder."""

    host: str
    port: int
    tls: ImapTls
    username: str
    password: str
    folder: str
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """What the server says of the selected folder."""

    uidvalidity: int
    uidnext: int | None
    message_count: int


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message as the server holds it: its UID, unchanged bytes and arrival time."""

    uid: int
    raw: bytes
    internal_date: datetime | None


class ImapFolder:
    """A logged-in connection with one folder selected; IMAP failures raise readable errors."""

    def __init__(self, *, client: IMAPClient, status: FolderStatus, settings: ImapSettings) -> None:
        self.client = client
        self.status = status
        self.settings = settings

    def uids_after(self, last_uid: int, *, since: date | None = None) -> list[int]:
        """UIDs above last_uid, ascending; with `since`, only mail that arrived on or after it."""
        criteria: list[object] = ["UID", f"{last_uid + 1}:*"]
        if since is not None:
            criteria += ["SINCE", since]
        with _readable_errors(self.settings):
            found = self.client.search(criteria)
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in found if uid > last_uid)

    def fetch(self, uids: Sequence[int]) -> list[FetchedMessage]:
        """The raw bytes and INTERNALDATE of these UIDs, without setting \\Seen."""
        if not uids:
            return []
        with _readable_errors(self.settings):
            response = self.client.fetch(list(uids), FETCH_ITEMS)
        return [
            FetchedMessage(
                uid=uid,
                raw=bytes(response[uid].get(b"BODY[]") or b""),
                internal_date=_in_utc(response[uid].get(b"INTERNALDATE")),
            )
            for uid in sorted(response)
        ]

    def mark_seen(self, uids: Sequence[int]) -> None:
        """Flag messages \\Seen (an option of the mailbox, after they are committed)."""
        if uids:
            with _readable_errors(self.settings):
                self.client.add_flags(list(uids), [b"\\Seen"])

    def move(self, uids: Sequence[int], *, folder: str) -> None:
        """Move messages to another folder (an option of the mailbox, after commit)."""
        if uids:
            with _readable_errors(self.settings):
                self.client.move(list(uids), folder)

    @contextmanager
    def idling(self) -> Iterator[None]:
        """Hold IMAP IDLE for the duration of the block: the server pushes folder changes."""
        with _readable_errors(self.settings):
            self.client.idle()
        try:
            yield
        finally:
            with _readable_errors(self.settings):
                self.client.idle_done()

    def wait_for_change(self, *, timeout_seconds: float) -> bool:
        """Inside `idling()`: wait up to the timeout for a pushed change; True if one came."""
        with _readable_errors(self.settings):
            return bool(self.client.idle_check(timeout=timeout_seconds))


@contextmanager
def open_folder(settings: ImapSettings, *, writable: bool = False) -> Iterator[ImapFolder]:
    """Connect, log in and select the folder; every failure becomes a readable error."""
    try:
        client = _connect(settings)
    except (OSError, IMAPClientError) as error:
        raise MailboxConnectionError(_describe_connection_error(settings, error)) from error
    try:
        with _readable_errors(settings):
            _log_in(client, settings)
            status = _select(client, folder=settings.folder, writable=writable)
        yield ImapFolder(client=client, status=status, settings=settings)
    finally:
        _close_quietly(client)


@contextmanager
def _readable_errors(settings: ImapSettings) -> Iterator[None]:
    """Turn network and protocol failures into a MailboxConnectionError an admin can read."""
    try:
        yield
    except (OSError, IMAPClientError) as error:
        raise MailboxConnectionError(_describe_session_error(settings, error)) from error


def _connect(settings: ImapSettings) -> IMAPClient:
    context = ssl.create_default_context()
    client = IMAPClient(
        settings.host,
        port=settings.port,
        ssl=settings.tls is ImapTls.SSL,
        ssl_context=context if settings.tls is ImapTls.SSL else None,
        timeout=settings.timeout_seconds,
    )
    # Timezone-aware INTERNALDATE values: received_at is the legal start of every delay.
    client.normalise_times = False
    if settings.tls is ImapTls.STARTTLS:
        client.starttls(ssl_context=context)
    return client


def _log_in(client: IMAPClient, settings: ImapSettings) -> None:
    try:
        client.login(settings.username, settings.password)
    except LoginError as error:
        raise MailboxConnectionError(
            f"Identifiants refusés par {settings.host} pour « {settings.username} » "
            f"(vérifiez le mot de passe) : {_server_text(error)}"
        ) from error


def _select(client: IMAPClient, *, folder: str, writable: bool) -> FolderStatus:
    try:
        response = client.select_folder(folder, readonly=not writable)
    except IMAPClientError as error:
        raise MailboxConnectionError(
            f"Dossier « {folder} » introuvable ou illisible : {_server_text(error)}"
        ) from error
    uidnext = response.get(b"UIDNEXT")
    return FolderStatus(
        uidvalidity=int(response[b"UIDVALIDITY"]),
        uidnext=int(uidnext) if uidnext is not None else None,
        message_count=int(response.get(b"EXISTS", 0)),
    )


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError):
        client.shutdown()


def _server_text(error: Exception) -> str:
    text = str(error)
    return text.removeprefix("b'").removeprefix('b"').rstrip("'\"") or type(error).__name__


def _describe_connection_error(settings: ImapSettings, error: Exception) -> str:
    described = describe_network_error(
        error,
        service="IMAP",
        host=settings.host,
        port=settings.port,
        timeout_seconds=settings.timeout_seconds,
    )
    if isinstance(error, ssl.SSLError) and described:
        return f"{described} (mode {settings.tls.value})"
    return (
        described
        or f"Connexion impossible à {settings.host}:{settings.port} : {_server_text(error)}"
    )


def _describe_session_error(settings: ImapSettings, error: Exception) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return f"Le serveur {settings.host} a cessé de répondre ({settings.timeout_seconds:g} s)"
    return f"Erreur IMAP avec {settings.host} : {_server_text(error)}"


def _in_utc(moment: datetime | None) -> datetime | None:
    """The same instant in UTC: IMAPClient's own offset class cannot cross to another process."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC)
