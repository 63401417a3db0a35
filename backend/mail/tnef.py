"""winmail.dat (TNEF) unpacking with tnefparse, bounded against crafted input."""

import mimetypes
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tnefparse
import tnefparse.mapi
import tnefparse.tnef

from backend.mail.charsets import decode_cp1252

# tnefparse loops `for _ in range(count)` over counts read from the data: a crafted 4-byte count
# would spin for minutes. No genuine TNEF holds this many properties, values or recipients.
MAX_TNEF_LOOP = 100_000
# tnefparse copies the rest of the stream for each object: bound objects x size.
MAX_TNEF_COPIED_BYTES = 2_000_000_000
_MAPI_ATTACH_MIME_TAG = 0x370E
_TNEF_SIGNATURE = 0x223E9F78
# The built-in table only: the same guesses on every machine, and no file read.
_MIME_TYPES = mimetypes.MimeTypes()


class TnefError(ValueError):
    """A TNEF stream that cannot, or should not, be unpacked."""


@dataclass(frozen=True, slots=True)
class TnefFile:
    """One file unpacked from a TNEF stream."""

    filename: str | None
    content_type: str
    content: bytes


def _bounded_range(*args: int) -> range:
    """range() that refuses the absurd counts of crafted streams."""
    bounded = range(*args)
    if len(bounded) > MAX_TNEF_LOOP:
        raise TnefError(f"TNEF count {len(bounded)} exceeds {MAX_TNEF_LOOP}")
    return bounded


# Module globals shadow builtins: this bounds every loop of the two modules that read counts.
tnefparse.mapi.range = _bounded_range
tnefparse.tnef.range = _bounded_range


def unpack_tnef(data: bytes) -> list[TnefFile]:
    """The files a TNEF stream carries; TnefError when it cannot be unpacked."""
    _check_objects(data)
    try:
        stream: Any = tnefparse.TNEF(data, do_checksum=False)
        return [_tnef_file(attachment) for attachment in stream.attachments]
    except TnefError:
        raise
    except Exception as error:  # a third-party decoder fed hostile bytes may raise anything
        raise TnefError(f"{type(error).__name__}: {error}") from error


def _check_objects(data: bytes) -> None:
    """Refuse what is not TNEF, and streams whose decoding would copy too much."""
    if len(data) < 6 or struct.unpack_from("<I", data)[0] != _TNEF_SIGNATURE:
        raise TnefError("not a TNEF stream (wrong signature)")
    objects = sum(1 for _ in _object_offsets(data))
    if objects * len(data) > MAX_TNEF_COPIED_BYTES:
        raise TnefError(f"TNEF stream of {len(data)} bytes with {objects} objects is too costly")


def _object_offsets(data: bytes) -> Iterator[int]:
    """Where each top-level TNEF object starts, walked the way tnefparse walks them."""
    offset = 6
    while offset + 12 < len(data):
        yield offset
        length = struct.unpack_from("<I", data, offset + 5)[0]
        offset += min(len(data) - offset, length + 11)


def _tnef_file(attachment: Any) -> TnefFile:
    """A TnefFile from a tnefparse attachment."""
    filename = _attachment_name(attachment)
    declared = [a.data for a in attachment.mapi_attrs if a.name == _MAPI_ATTACH_MIME_TAG]
    content_type = _content_type(declared[0] if declared else None, filename=filename)
    content = attachment.data
    if not isinstance(content, bytes):
        content = bytes(content)
    return TnefFile(filename=filename, content_type=content_type, content=content)


def _attachment_name(attachment: Any) -> str | None:
    """The long file name, else the short one, decoded."""
    try:
        name: Any = attachment.long_filename()
    except UnicodeDecodeError:
        name = attachment._name  # tnefparse decodes it as UTF-8 only
    if isinstance(name, bytes):
        name = decode_cp1252(name)
    text = str(name or "").strip("\x00").strip()
    return text or None


def _content_type(declared: object, *, filename: str | None) -> str:
    """The declared MIME type when sensible, else a guess from the file name."""
    if isinstance(declared, bytes):
        declared = decode_cp1252(declared)
    if isinstance(declared, str) and "/" in declared:
        return declared.strip("\x00").strip().lower()
    guessed = _MIME_TYPES.guess_type(filename or "")[0]
    return guessed or "application/octet-stream"
