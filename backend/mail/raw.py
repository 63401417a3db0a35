"""Operations on the raw bytes: the mbox separator line and the delivery-independent fingerprint."""

import hashlib
import re

# Fields that delivery adds or rewrites (and mbox state a client writes): the same message
# delivered twice, or exported and re-imported, differs only in these.
_TRACE_FIELDS = frozenset(
    {"return-path", "received", "delivered-to", "x-original-to", "x-received", "received-spf"}
    | {"authentication-results", "status", "x-status", "x-keywords", "x-uid"}
    | {"x-mozilla-status", "x-mozilla-status2"}
)
_TRACE_PREFIXES = (b"arc-", b"x-spam-")
_OBSOLETE_FROM_FIELD = re.compile(rb"From[ \t]*:")
_FIELD_START = re.compile(rb"^(?=[^ \t\n])", re.MULTILINE)


def strip_mbox_separator(raw: bytes) -> bytes:
    """The message without a leading mbox "From " line (but "From  : x" is a header field)."""
    if not raw.startswith(b"From ") or _OBSOLETE_FROM_FIELD.match(raw):
        return raw
    end = raw.find(b"\n")
    return b"" if end < 0 else raw[end + 1 :]


def header_block_end(data: bytes) -> int:
    """Where the header block of LF-terminated data ends (the blank line is the body's)."""
    if data.startswith(b"\n"):
        return 0
    end = data.find(b"\n\n")
    return len(data) if end < 0 else end + 1


def fingerprint(data: bytes) -> str:
    """SHA-256 of the message without delivery trace fields, line ends as LF."""
    data = data.replace(b"\r\n", b"\n")
    end = header_block_end(data)
    digest = hashlib.sha256()
    for field in _fields(data[:end]):
        if not _is_trace(field):
            digest.update(field)
    digest.update(data[end:])
    return digest.hexdigest()


def _fields(header: bytes) -> list[bytes]:
    """Header fields with their continuation lines."""
    starts = [match.start() for match in _FIELD_START.finditer(header)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [
        header[start:stop] for start, stop in zip(starts, [*starts[1:], len(header)], strict=True)
    ]


def _is_trace(field: bytes) -> bool:
    """Whether a header field is a delivery trace field."""
    name = field.split(b":", 1)[0].strip().lower()
    return name.startswith(_TRACE_PREFIXES) or name.decode("latin-1") in _TRACE_FIELDS
