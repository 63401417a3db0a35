"""Outgoing e-mail as exact MIME bytes: built once, stored, and sent unchanged on every attempt."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from backend.mail.message import ParsedAddress

# RFC 5322 lets a long thread's References be shortened; the first and latest ids matter most.
MAX_REFERENCES = 20


@dataclass(frozen=True, slots=True)
class OutgoingAttachment:
    """A file sent with an e-mail (a letter's PDF)."""

    filename: str
    content_type: str  # "application/pdf"
    content: bytes


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """What an outgoing e-mail says; compose_email turns it into bytes."""

    sender: ParsedAddress
    to: tuple[ParsedAddress, ...]
    subject: str
    text: str
    html: str | None
    message_id: str  # without angle brackets
    date: datetime
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[OutgoingAttachment, ...] = ()


def new_message_id(*, sender_address: str) -> str:
    """A unique Message-ID in the sender's domain, without angle brackets."""
    domain = sender_address.rpartition("@")[2] or "qualipref.invalid"
    return f"qualipref.{uuid.uuid4().hex}@{domain}"


def compose_email(email: OutgoingEmail) -> bytes:
    """The MIME bytes, CRLF line ends, headers encoded as RFC 2047 asks."""
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(email.sender)
    message["To"] = [_address(recipient) for recipient in email.to]
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = f"<{email.message_id}>"
    if email.in_reply_to:
        message["In-Reply-To"] = f"<{email.in_reply_to}>"
    references = _shortened(email.references)
    if references:
        message["References"] = " ".join(f"<{reference}>" for reference in references)
    for name, value in email.extra_headers:
        message[name] = value
    message.set_content(email.text, cte="quoted-printable")
    if email.html is not None:
        message.add_alternative(email.html, subtype="html", cte="quoted-printable")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message.as_bytes()


def _address(address: ParsedAddress) -> Address:
    """A header address; the display name is quoted and encoded by the policy."""
    username, _, domain = address.address.rpartition("@")
    return Address(display_name=address.name or "", username=username, domain=domain)


def _shortened(references: tuple[str, ...]) -> tuple[str, ...]:
    """The first Message-ID and the latest ones, at most MAX_REFERENCES."""
    if len(references) <= MAX_REFERENCES:
        return references
    return (references[0], *references[-(MAX_REFERENCES - 1) :])
