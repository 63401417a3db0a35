"""Raw message bytes to a ParsedMessage: a pure function, lenient with malformed mail."""

from collections.abc import Callable
from datetime import datetime

from backend.mail.headers import (
    Address,
    Defects,
    collapse_whitespace,
    decode_header,
    decode_raw_8bit,
    first_message_id,
    message_ids,
    parse_addresses,
    parse_date,
    unfold,
)
from backend.mail.message import (
    MessageParseError,
    ParsedAddress,
    ParsedAttachment,
    ParsedMessage,
)
from backend.mail.mime import parse_mime
from backend.mail.parts import extract_body
from backend.mail.raw import fingerprint, strip_mbox_separator

__all__ = [
    "MessageParseError",
    "ParsedAddress",
    "ParsedAttachment",
    "ParsedMessage",
    "parse_message",
]

SYNTHETIC_DOMAIN = "qualipref.invalid"
_AUTOMATIC_SENDERS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply"}
    | {"do-not-reply", "do_not_reply"}
)
_SINGLE_FIELDS = ("from", "subject", "date", "message-id")


def is_made_up_message_id(message_id: str) -> bool:
    """True for the Message-IDs Qualipref makes up (no Message-ID, paper letters): no mail
    client knows them, so no reply should cite them."""
    return message_id.endswith(SYNTHETIC_DOMAIN)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one raw message; MessageParseError only for input that is no message at all."""
    data = strip_mbox_separator(raw)
    if not data.strip(b" \t\r\n\x00"):
        raise MessageParseError("empty input is not a message")
    digest = fingerprint(data)
    defects = Defects()
    root = parse_mime(data, defects=defects)
    body = extract_body(root, defects=defects)
    fields = _HeaderFields(root.fields, hint=body.charset_hint, defects=defects)
    message_id = fields.message_id()
    in_reply_to = fields.in_reply_to()
    sender = fields.sender()
    reply_to = fields.addresses("reply-to")
    return ParsedMessage(
        message_id=message_id or f"{digest[:32]}@{SYNTHETIC_DOMAIN}",
        message_id_synthesised=message_id is None,
        in_reply_to=in_reply_to,
        references=fields.references(in_reply_to=in_reply_to),
        subject=collapse_whitespace(fields.decoded("subject") or ""),
        sender=sender,
        to=fields.addresses("to"),
        cc=fields.addresses("cc"),
        reply_to=reply_to,
        date=fields.date(),
        headers=fields.decoded_all(),
        automation_markers=_automation_markers(
            fields,
            reply_address=reply_to[0] if reply_to else sender,
            content_type=root.content_type,
        ),
        body_text=body.text,
        body_html=body.html,
        attachments=tuple(body.attachments),
        defects=defects.as_tuple(),
        fingerprint=digest,
    )


class _HeaderFields:
    """The top-level header fields, each decoded once."""

    def __init__(self, raw: list[tuple[str, str]], *, hint: str | None, defects: Defects) -> None:
        self._hint = hint
        self._defects = defects
        self._raw = raw
        self._decoded = tuple((name, self._decode(value, where=name)) for name, value in self._raw)
        self._first: dict[str, str] = {}
        self._first_decoded: dict[str, str] = {}
        counts: dict[str, int] = {}
        for (name, value), (_, text) in zip(self._raw, self._decoded, strict=True):
            key = name.lower()
            self._first.setdefault(key, value)
            self._first_decoded.setdefault(key, text)
            counts[key] = counts.get(key, 0) + 1
        for key in _SINGLE_FIELDS:
            if counts.get(key, 0) > 1:
                defects.add(f"{counts[key]} {key} fields: the first is used")

    def raw(self, name: str) -> str | None:
        """The first field of that name, undecoded."""
        return self._first.get(name)

    def all_raw(self, name: str) -> list[str]:
        """Every field of that name, undecoded, in order."""
        return [value for key, value in self._raw if key.lower() == name]

    def decoded(self, name: str) -> str | None:
        """The first field of that name, decoded."""
        return self._first_decoded.get(name)

    def decoded_all(self) -> tuple[tuple[str, str], ...]:
        """Every field, decoded, in order."""
        return self._decoded

    def addresses(self, name: str) -> tuple[ParsedAddress, ...]:
        """The mailboxes of the first field of that name."""
        value = self._first.get(name)
        return () if value is None else self._parse_addresses(value, where=name)

    def sender(self) -> ParsedAddress | None:
        """The first From mailbox, looking past From fields that hold none, else Reply-To's."""
        for value in self.all_raw("from"):
            found = self._parse_addresses(value, where="from")
            if found:
                return found[0]
        # Whoever a reply would reach is the best identity left (Zammad does the same).
        reply_to = self.addresses("reply-to")
        if reply_to:
            self._defects.add("no From address: the sender is taken from Reply-To")
            return reply_to[0]
        return None

    def _parse_addresses(self, value: str, *, where: str) -> tuple[ParsedAddress, ...]:
        """The mailboxes of one address field."""
        # Decoding the field for headers() already recorded its defects.
        text = decode_raw_8bit(unfold(value), hint=self._hint, where=where, defects=Defects())
        parsed = parse_addresses(text, where=where, defects=Defects())
        return tuple(_public_address(address) for address in parsed)

    def message_id(self) -> str | None:
        """The Message-ID, without angle brackets."""
        value = self.decoded("message-id")
        return None if value is None else first_message_id(value)

    def in_reply_to(self) -> str | None:
        """The first Message-ID of In-Reply-To."""
        value = self.decoded("in-reply-to")
        return None if value is None else first_message_id(value)

    def references(self, *, in_reply_to: str | None) -> tuple[str, ...]:
        """The Message-IDs of References, then In-Reply-To's when missing from it."""
        found: dict[str, None] = {}
        for value in self.all_raw("references"):
            for message_id in message_ids(unfold(value)):
                found.setdefault(message_id, None)
        if in_reply_to is not None:
            found.setdefault(in_reply_to, None)
        return tuple(found)

    def date(self) -> datetime | None:
        """The Date as an aware UTC datetime, None when missing or unparsable."""
        value = self.decoded("date")
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            self._defects.add(f"unparsable Date {value[:80]!r}")
        return parsed

    def _decode(self, value: str, *, where: str) -> str:
        """A field value decoded, without the NUL characters databases refuse."""
        text = decode_header(value, hint=self._hint, where=where, defects=self._defects)
        return text.replace("\x00", "") if "\x00" in text else text


def _public_address(address: Address) -> ParsedAddress:
    """The public value of a parsed mailbox."""
    name = address.name.replace("\x00", "") if address.name else None
    return ParsedAddress(name=name or None, address=address.address.replace("\x00", ""))


def _automation_markers(
    fields: _HeaderFields, *, reply_address: ParsedAddress | None, content_type: str
) -> tuple[str, ...]:
    """Why the message looks machine-sent (RFC 3834 and the help desks' experience)."""
    markers: list[str] = []
    for check in _MARKER_CHECKS:
        marker = check(fields)
        if marker:
            markers.append(marker)
    # The address an answer would go to: a web form's noreply sender with a citizen's
    # Reply-To is a person.
    if reply_address is not None:
        local = reply_address.address.rpartition("@")[0] or reply_address.address
        if local.lower() in _AUTOMATIC_SENDERS:
            markers.append(f"sender: {local}")
    if content_type == "multipart/report":
        markers.append("multipart/report")
    return tuple(markers)


def _auto_submitted(fields: _HeaderFields) -> str | None:
    """Auto-Submitted other than "no"."""
    value = fields.decoded("auto-submitted")
    kind = (value or "").split(";", 1)[0].strip().lower()
    return f"Auto-Submitted: {kind}" if kind and kind != "no" else None


def _precedence(fields: _HeaderFields) -> str | None:
    """Precedence bulk, list or junk."""
    token = (fields.decoded("precedence") or "").strip().lower()
    return f"Precedence: {token}" if token in {"bulk", "list", "junk"} else None


def _present(name: str, *, label: str) -> Callable[[_HeaderFields], str | None]:
    """A check that a field is present."""
    return lambda fields: label if fields.raw(name) is not None else None


def _flag(name: str, *, label: str) -> Callable[[_HeaderFields], str | None]:
    """A check that a field is present and not a negation."""

    def check(fields: _HeaderFields) -> str | None:
        value = (fields.decoded(name) or "").strip().lower()
        present = fields.raw(name) is not None
        return label if present and value not in {"no", "false", "0"} else None

    return check


def _response_suppress(fields: _HeaderFields) -> str | None:
    """X-Auto-Response-Suppress asking for no automatic reply."""
    value = fields.decoded("x-auto-response-suppress") or ""
    tokens = {token.strip().lower() for token in value.split(",")}
    wanted = tokens & {"all", "oof", "autoreply"}
    return f"X-Auto-Response-Suppress: {value.strip()}" if wanted else None


def _empty_return_path(fields: _HeaderFields) -> str | None:
    """Return-Path: <>, the null sender of bounces and automatic replies."""
    paths = fields.all_raw("return-path")
    empty = any("".join(unfold(path).split()) == "<>" for path in paths)
    return "Return-Path: <>" if empty else None


_MARKER_CHECKS: tuple[Callable[[_HeaderFields], str | None], ...] = (
    _auto_submitted,
    _precedence,
    _present("list-id", label="List-Id"),
    _present("list-unsubscribe", label="List-Unsubscribe"),
    _flag("x-autoreply", label="X-Autoreply"),
    _flag("x-autorespond", label="X-Autorespond"),
    _response_suppress,
    _empty_return_path,
)
