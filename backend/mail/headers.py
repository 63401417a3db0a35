"""Header field decoding: unfolding, RFC 2047 encoded-words, raw 8-bit, addresses, IDs, dates."""

import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from urllib.parse import unquote_to_bytes

from backend.mail.charsets import decode_declared, decode_undeclared

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_ADDRESS_TOKEN = re.compile(
    r"""
    "(?:[^"\\]|\\.)*"?                   # quoted string, perhaps unterminated
    |\((?:[^()\\]|\\.)*\)                # comment (nesting is obsolete and rare)
    |<[^<>]*>?                           # angle address, perhaps unterminated
    |=\?[^?\s]+\?[bBqQ]\?[^?]*\?=        # encoded-word, which may hold a comma
    |[,;:]
    |[^",;:<(=]+
    |.
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_SPACED_SEPARATOR = re.compile(r"\s*([.@])\s*")
_SPACED_COLON = re.compile(r"\s*:\s*")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_SURROGATES = re.compile("[\udc80-\udcff]+")
_PARAMETER = re.compile(r';\s*([^\s=;]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"?|[^;]*))?')


class Defects:
    """Human-readable parser defects, in order, each once."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, defect: str | None) -> None:
        """Record a defect (None is ignored)."""
        if defect:
            self._seen.setdefault(defect, None)

    def as_tuple(self) -> tuple[str, ...]:
        """The defects recorded so far."""
        return tuple(self._seen)


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox of an address header: decoded display name and address as written."""

    name: str | None
    address: str


def unfold(value: str) -> str:
    """Remove the line breaks of a folded header value, and surrounding whitespace."""
    if "\n" in value or "\r" in value:
        value = _LINE_BREAK.sub("", value)
    return value.strip()


def collapse_whitespace(value: str) -> str:
    """Every run of whitespace as one space, none at the ends."""
    return " ".join(value.split())


def decode_raw_8bit(value: str, *, hint: str | None, where: str, defects: Defects) -> str:
    """Decode the undeclared 8-bit bytes that the parser kept as surrogate escapes."""
    if value.isascii() or not _SURROGATES.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    decoded = decode_undeclared(data, hint=hint, where=where)
    defects.add(decoded.defect)
    return decoded.text


def decode_header(value: str, *, hint: str | None, where: str, defects: Defects) -> str:
    """An unfolded header value with raw 8-bit bytes and RFC 2047 encoded-words decoded."""
    value = decode_raw_8bit(unfold(value), hint=hint, where=where, defects=defects)
    return decode_encoded_words(value, where=where, defects=defects)


def decode_encoded_words(value: str, *, where: str, defects: Defects) -> str:
    """Decode RFC 2047 encoded-words; adjacent words of one charset are joined before decoding."""
    if "=?" not in value:
        return value
    pieces: list[str] = []
    pending = bytearray()
    pending_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        data = _encoded_word_bytes(match, where=where, defects=defects)
        if data is None:
            continue  # left as written: it becomes part of the next literal text
        charset = match.group(1).split("*", 1)[0].lower()
        if between and (not pending_charset or not between.isspace()):
            _flush(pieces, pending=pending, charset=pending_charset, where=where, defects=defects)
            pending_charset = ""
            pieces.append(between)
        if charset != pending_charset:
            _flush(pieces, pending=pending, charset=pending_charset, where=where, defects=defects)
            pending_charset = charset
        pending += data
        position = match.end()
    _flush(pieces, pending=pending, charset=pending_charset, where=where, defects=defects)
    pieces.append(value[position:])
    return "".join(pieces)


def _flush(
    pieces: list[str], *, pending: bytearray, charset: str, where: str, defects: Defects
) -> None:
    """Decode the encoded-word bytes gathered so far into pieces, and empty them."""
    if not pending:
        return
    decoded = decode_declared(bytes(pending), charset=charset or None, where=where)
    defects.add(decoded.defect)
    pieces.append(decoded.text)
    pending.clear()


def _encoded_word_bytes(match: re.Match[str], *, where: str, defects: Defects) -> bytes | None:
    """The bytes an encoded-word carries, None when its payload cannot be decoded."""
    payload = match.group(3).encode("utf-8", "surrogateescape")
    try:
        if match.group(2) in "qQ":
            return binascii.a2b_qp(payload, header=True)
        return binascii.a2b_base64(payload + b"=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        defects.add(f"undecodable encoded-word in {where}, kept as written")
        return None


def parse_addresses(value: str, *, where: str, defects: Defects) -> tuple[Address, ...]:
    """The mailboxes of an address list (groups flattened), names decoded."""
    addresses: list[Address] = []
    tokens: list[str] = []
    for match in _ADDRESS_TOKEN.finditer(value):
        piece = match.group()
        if piece in {",", ";"}:
            _finish_mailbox(tokens, addresses=addresses, where=where, defects=defects)
            tokens = []
        elif piece == ":" and not any(t.startswith("<") for t in tokens):
            tokens = []  # a group's display name: its members follow
        else:
            tokens.append(piece)
    _finish_mailbox(tokens, addresses=addresses, where=where, defects=defects)
    return tuple(addresses)


def _finish_mailbox(
    tokens: list[str], *, addresses: list[Address], where: str, defects: Defects
) -> None:
    """Append the mailboxes that tokens spell, if they spell any."""
    angles = [index for index, token in enumerate(tokens) if token.startswith("<")]
    if angles:
        address = _COMMENT.sub("", tokens[angles[-1]].strip("<>"))
        address = address.rsplit(":", 1)[-1]  # an obsolete source route
        address = _SPACED_SEPARATOR.sub(r"\1", collapse_whitespace(address))
        phrase = [t for t in tokens[: angles[-1]] if not t.startswith("(")]
        if not "".join(phrase).strip():
            phrase = [t[1:-1] for t in tokens if t.startswith("(")]
        if address:
            name = _display_name(phrase, where=where, defects=defects)
            addresses.append(Address(name=name, address=normalise_address(address)))
        return
    comments = [t[1:-1] for t in tokens if t.startswith("(") and t.endswith(")")]
    words = "".join(t for t in tokens if not t.startswith("(")).split()
    quoted = any(t.startswith('"') for t in tokens)
    with_at = [word for word in words if "@" in word]
    if not quoted and with_at and len(with_at) == len(words) > 1:
        addresses.extend(Address(name=None, address=normalise_address(w)) for w in words)
    elif not quoted and len(with_at) == 1 and len(words) > 1:
        # "Jean Dupont jean@example.org": the display name without its quotes and brackets.
        name = " ".join(word for word in words if word is not with_at[0])
        addresses.append(Address(name=name, address=normalise_address(with_at[0])))
    elif with_at or (comments and len(words) == 1):
        # A bare word without @ is a display name alone ("Whomever"), unless a comment
        # follows it as in "MAILER-DAEMON (Mail Delivery System)".
        name = _display_name(comments, where=where, defects=defects)
        addresses.append(Address(name=name, address=normalise_address(" ".join(words))))


def _display_name(phrase: list[str], *, where: str, defects: Defects) -> str | None:
    """The decoded display name of a mailbox, None when blank."""
    parts = []
    for token in phrase:
        if token.startswith('"'):
            token = _QUOTED_PAIR.sub(r"\1", token[1:-1] if token.endswith('"') else token[1:])
        parts.append(token)
    text = collapse_whitespace(decode_encoded_words("".join(parts), where=where, defects=defects))
    return text or None


def normalise_address(address: str) -> str:
    """The address as written, its domain in lower case."""
    local, at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}" if at else address


def first_message_id(value: str) -> str | None:
    """The first Message-ID of a header value, without angle brackets or obsolete spaces."""
    for match in _ANGLE_ID.finditer(value):
        candidate = "".join(_COMMENT.sub("", match.group(1)).split())
        if candidate:
            return candidate
    bare = value.strip().strip("<>").strip()
    if bare and not _has_whitespace(bare) and "<" not in value:
        return bare
    return None


def message_ids(value: str) -> list[str]:
    """Every valid Message-ID of a References-like value, in order, without angle brackets."""
    if "<" not in value:
        return [token for token in value.replace(",", " ").split() if "@" in token]
    found = []
    for match in _ANGLE_ID.finditer(value):
        candidate = match.group(1).strip()
        if candidate and not _has_whitespace(candidate):
            found.append(candidate)
    return found


def _has_whitespace(value: str) -> bool:
    """Whether a string holds any whitespace."""
    return len(value.split(maxsplit=1)) != 1


def parse_date(value: str) -> datetime | None:
    """A Date header value as an aware UTC datetime; None when unparsable."""
    parsed = _parse_date(value)
    if parsed is None and "(" in value:
        # Obsolete syntax: comments, and spaces around the colons of the time.
        parsed = _parse_date(_SPACED_COLON.sub(":", _COMMENT.sub("", value)))
    return parsed


def _parse_date(value: str) -> datetime | None:
    """An RFC 5322 date, None when unparsable."""
    try:
        parts = parsedate_tz(value)
        if parts is None:
            return None
        offset = timezone(timedelta(seconds=parts[9] or 0))
        local = datetime(*parts[:6], tzinfo=offset)
        return local.astimezone(UTC)
    except (ValueError, OverflowError, TypeError, IndexError):
        return None


def parse_parameters(value: str, *, where: str, defects: Defects) -> tuple[str, dict[str, str]]:
    """A structured value's lower-case token and its parameters, RFC 2231 sections joined."""
    token, _, rest = value.partition(";")
    simple: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAMETER.finditer(";" + rest):
        name = match.group(1).lower()
        raw = _unquote((match.group(2) or "").strip())
        if "*" in name:
            base, _, suffix = name.partition("*")
            number = suffix.rstrip("*")
            section = int(number) if number.isdigit() else 0
            sections.setdefault(base, []).append((section, suffix.endswith("*") or not suffix, raw))
        else:
            simple.setdefault(name, raw)
    for base, parts in sections.items():
        simple[base] = _join_rfc2231(sorted(parts), where=where, defects=defects)
    return token.strip().lower(), simple


def _unquote(value: str) -> str:
    """A parameter value without its quotes and quoted-pairs."""
    if not value.startswith('"'):
        return value
    inner = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
    return _QUOTED_PAIR.sub(r"\1", inner)


def _join_rfc2231(parts: list[tuple[int, bool, str]], *, where: str, defects: Defects) -> str:
    """The value of RFC 2231 sections: percent-decoded, joined, then decoded in its charset."""
    charset: str | None = None
    data = bytearray()
    for index, (_, encoded, raw) in enumerate(parts):
        text = raw
        if encoded and index == 0 and text.count("'") >= 2:
            charset, _language, text = text.split("'", 2)
        data += unquote_to_bytes(text) if encoded else text.encode("utf-8", "surrogateescape")
    decoded = decode_declared(bytes(data), charset=charset or None, where=where)
    defects.add(decoded.defect)
    return decoded.text
