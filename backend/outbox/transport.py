"""Handing a message to the outside world: an SMTP relay, or .eml files on the embedded default.

Each transport reports a temporary failure (try again later) or a permanent one (give up) with
the server's own words, and calls `before_data` just before the message data goes out, so the
caller can record that from then on the message may have been delivered.
"""

import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from backend.network import describe_network_error
from backend.storage.filestore import write_durably

SMTP_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class DeliveryError(Exception):
    """A delivery that did not happen; `reason` is what the server or the network said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryDeliveryError(DeliveryError):
    """Worth trying again later: 4xx replies, refused connections, timeouts, DNS failures."""


class PermanentDeliveryError(DeliveryError):
    """Never worth retrying as is: 5xx replies (unknown recipient, refused message)."""


class Transport(Protocol):
    """Something that delivers raw messages."""

    def send(
        self,
        *,
        raw: bytes,
        envelope_sender: str,
        recipients: Sequence[str],
        name: str,
        before_data: Callable[[], None],
    ) -> str:
        """Deliver the message; return the server's acceptance (or where it was written)."""
        ...


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    """An SMTP relay from QUALIPREF_SMTP_URL: smtp:// (STARTTLS when offered) or smtps://."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None
    timeout_seconds: float

    @classmethod
    def from_url(cls, url: str, *, timeout_seconds: float) -> "SmtpRelay":
        """Parse smtp://user:password@host:port or smtps://...; ValueError when malformed."""
        parts = urlsplit(url)
        if parts.scheme not in SMTP_DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"URL SMTP invalide : {_without_password(url)!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or SMTP_DEFAULT_PORTS[parts.scheme],
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout_seconds=timeout_seconds,
        )

    def send(
        self,
        *,
        raw: bytes,
        envelope_sender: str,
        recipients: Sequence[str],
        name: str,
        before_data: Callable[[], None],
    ) -> str:
        """One SMTP transaction; every recipient must be accepted or nothing is sent."""
        try:
            with self._connect() as client:
                client.mail(envelope_sender)
                for recipient in recipients:
                    code, reply = client.rcpt(recipient)
                    if code >= 300:
                        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
                before_data()
                code, reply = client.data(raw)
                if code >= 300:
                    raise smtplib.SMTPDataError(code, reply)
                return f"{code} {_text(reply)}"
        except smtplib.SMTPRecipientsRefused as error:
            recipient, (code, reply) = next(iter(error.recipients.items()))
            raise _reply_error(code, f"{recipient} : {_text(reply)}") from error
        except smtplib.SMTPResponseException as error:
            raise _reply_error(error.smtp_code, _text(error.smtp_error)) from error
        except (smtplib.SMTPException, OSError) as error:
            raise TemporaryDeliveryError(_network_reason(error, relay=self)) from error

    def _connect(self) -> smtplib.SMTP:
        """A connected, greeted, secured and authenticated client."""
        context = ssl.create_default_context()
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_seconds, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        try:
            client.ehlo_or_helo_if_needed()
            if not self.implicit_tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if self.username is not None:
                self._refuse_clear_text_password(client)
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _refuse_clear_text_password(self, client: smtplib.SMTP) -> None:
        """A password only crosses the network encrypted (or to this machine)."""
        encrypted = self.implicit_tls or client.sock.__class__.__name__ == "SSLSocket"
        if not encrypted and not _is_loopback(self.host):
            raise PermanentDeliveryError(
                f"le serveur SMTP {self.host} ne propose pas STARTTLS : "
                "le mot de passe ne sera pas envoyé en clair"
            )


@dataclass(frozen=True, slots=True)
class FileOutbox:
    """The embedded default: each message written as <name>.eml in a folder."""

    folder: Path

    def send(
        self,
        *,
        raw: bytes,
        envelope_sender: str,
        recipients: Sequence[str],
        name: str,
        before_data: Callable[[], None],
    ) -> str:
        """Write the file durably; writing the same name again replaces it, never doubles it."""
        try:
            before_data()
            path = self.folder / f"{name}.eml"
            write_durably(path, data=raw)
        except OSError as error:
            reason = f"écriture impossible dans {self.folder} : {error}"
            raise TemporaryDeliveryError(reason) from error
        return f"écrit dans {path}"


def _reply_error(code: int, reply: str) -> DeliveryError:
    """A server reply as the error it is: 4xx temporary, anything else permanent."""
    reason = f"{code} {reply}".strip()
    if 400 <= code < 500:
        return TemporaryDeliveryError(reason)
    return PermanentDeliveryError(reason)


def _network_reason(error: BaseException, *, relay: "SmtpRelay") -> str:
    """What went wrong on the way to the relay."""
    described = describe_network_error(
        error,
        service="SMTP",
        host=relay.host,
        port=relay.port,
        timeout_seconds=relay.timeout_seconds,
    )
    return described or f"{type(error).__name__} avec le serveur SMTP {relay.host} : {error}"


def _text(reply: bytes | str) -> str:
    """A server reply as text."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _without_password(url: str) -> str:
    """The URL with its password hidden, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
