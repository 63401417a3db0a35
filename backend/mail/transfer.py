"""Content-Transfer-Encoding decoding, lenient with the values and payloads found in the wild."""

import binascii
import re
from dataclasses import dataclass

from backend.mail.headers import Defects

_IDENTITY = frozenset({"7bit", "8bit", "binary"})
_UUENCODE = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_UU_BEGIN = re.compile(rb"^begin(?:-base64)?\s+[0-7]+\s+(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A part's content after transfer decoding, and the file name uuencoding may carry."""

    content: bytes
    uu_filename: bytes | None = None


def normalise_encoding(value: str | None) -> str:
    """The transfer encoding's token, lower-case, without quotes or trailing parameters."""
    if value is None:
        return ""
    return value.split(";", 1)[0].strip().strip("\"'").strip().lower()


def decode_transfer(
    payload: bytes, *, encoding: str | None, where: str, defects: Defects
) -> Decoded:
    """Undo a Content-Transfer-Encoding; unknown ones are taken as 8bit, with a defect."""
    kind = normalise_encoding(encoding)
    if kind == "base64":
        return Decoded(_decode_base64(payload, where=where, defects=defects))
    if kind == "quoted-printable":
        return Decoded(binascii.a2b_qp(payload))
    if kind in _UUENCODE:
        return _decode_uu(payload, where=where, defects=defects)
    if kind not in _IDENTITY and (kind or encoding is not None):
        defects.add(f"unknown Content-Transfer-Encoding {encoding!r} in {where}, taken as 8bit")
    return Decoded(payload)


def _decode_base64(payload: bytes, *, where: str, defects: Defects) -> bytes:
    """Base64, repairing bad padding and stray characters instead of failing."""
    try:
        return binascii.a2b_base64(payload)
    except binascii.Error:
        defects.add(f"invalid base64 in {where}, decoded leniently")
    cleaned = _NOT_BASE64.sub(b"", payload)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))


def _decode_uu(payload: bytes, *, where: str, defects: Defects) -> Decoded:
    """uuencoded content between its begin and end lines."""
    lines = payload.splitlines()
    start = next((i for i, line in enumerate(lines) if _UU_BEGIN.match(line)), None)
    if start is None:
        defects.add(f"x-uuencode without a begin line in {where}, kept as is")
        return Decoded(payload)
    begin = _UU_BEGIN.match(lines[start])
    filename = begin.group(1) if begin else None
    chunks = []
    for line in lines[start + 1 :]:
        if line.strip() == b"end":
            break
        chunks.append(_uu_line(line))
    return Decoded(b"".join(chunks), filename or None)


def _uu_line(line: bytes) -> bytes:
    """One uuencoded line, tolerating the trailing garbage some encoders add."""
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        size = (((line[0] - 32) & 63) * 4 + 5) // 3 if line else 0
        try:
            return binascii.a2b_uu(line[:size])
        except binascii.Error:
            return b""
