"""Bytes to text under declared, misdeclared, unknown or missing charsets, never losing text."""

import codecs
import re
from dataclasses import dataclass

_ISO_2022_JP_CP932 = "iso-2022-jp as cp932"
# Declared names that Python does not know, or knows as a narrower charset than senders use.
_ALIASES = {
    "x-unknown": "",
    "unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "iso-gb2312": "gb18030",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-6-e": "iso-8859-6",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-mac-ce": "mac-latin2",
    "windows-874": "cp874",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "ms_kanji": "cp932",
    "x-euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp_2",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "us-ascii": "ascii",
    "ascii": "ascii",
    # WHATWG: what is declared as Latin-1 is Windows-1252 in practice (curly quotes, euro sign).
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "windows-1252": "cp1252",
}
# Superset or same-charset names: using them is no defect.
_SILENT_ALIASES = frozenset(
    {"gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "csgb2312", "ks_c_5601-1987", "euc-kr"}
    | {"sjis", "shift-jis", "shift_jis", "ms_kanji", "iso-2022-jp", "big5", "utf8", "utf-8"}
    | {"us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "windows-1252"}
)
_VARIANTS = {
    "iso2022_jp_2": ("iso2022_jp_ext", "iso2022_jp_2004", _ISO_2022_JP_CP932),
    "euc_jp": ("euc_jis_2004", "cp932"),
    "cp932": ("shift_jis_2004",),
}


def _lossless_1252_table() -> str:
    """Windows-1252 where it is defined, Latin-1 for its five holes: no byte is ever lost."""
    chars = []
    for byte in range(256):
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars)


_CP1252_TABLE = _lossless_1252_table()
_MIXED = "utf-8 with windows-1252 for invalid bytes"
_CP1252 = "windows-1252"
_MIXED_ERRORS = "qualipref-windows-1252"


def _windows_1252_errors(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the bytes that are not UTF-8 read as Windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return decode_cp1252(error.object[error.start : error.end]), error.end


codecs.register_error(_MIXED_ERRORS, _windows_1252_errors)
_HIGH_RUNS = re.compile(rb"[\x80-\xff]+")
_KANA = re.compile("[\u3040-\u30ff]")
_ISO_2022_JP_ESCAPES = (
    (b"\x1b$B", "jis"),
    (b"\x1b$@", "jis"),
    (b"\x1b(B", "ascii"),
    (b"\x1b(J", "ascii"),
    (b"\x1b(I", "katakana"),
)
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs", "oem"}
)
# Codecs whose 7-bit input still needs decoding.
_NOT_ASCII_COMPATIBLE = ("utf-7", "utf-16", "utf-32", "iso2022", "hz")


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded from bytes, the codec that decoded it, and what went wrong if anything."""

    text: str
    codec: str
    defect: str | None = None


def decode_cp1252(data: bytes) -> str:
    """Windows-1252 with Latin-1 in its holes: the decoding that always succeeds."""
    return codecs.charmap_decode(data, "strict", _CP1252_TABLE)[0]


def normalise_charset(charset: str | None) -> str:
    """The declared name, unquoted and lower-case ("" when absent)."""
    if not charset:
        return ""
    return charset.strip().strip("\"'").strip().lower()


def resolve_codec(charset: str) -> str | None:
    """The Python codec for a normalised charset name, or None when there is none."""
    if charset in _ALIASES:
        return _ALIASES[charset] or None
    try:
        codec = codecs.lookup(charset)
    except (LookupError, ValueError):
        return None
    # Only charsets: not "base64", "idna", "unicode_escape" or "undefined" a sender declared.
    return codec.name if codec._is_text_encoding and codec.name not in _NOT_CHARSETS else None


def _decode_codec(data: bytes, *, codec: str) -> str | None:
    """Strict decoding with a codec or one of the conversions Python lacks."""
    if codec == _ISO_2022_JP_CP932:
        converted = _iso_2022_jp_to_cp932(data)
        return None if converted is None else _try_decode(converted, codec="cp932")
    return _try_decode(data, codec=codec)


def _iso_2022_jp_to_cp932(data: bytes) -> bytes | None:
    """ISO-2022-JP re-encoded as Shift_JIS, so that cp932's vendor characters (①) decode."""
    out = bytearray()
    mode = "ascii"
    index = 0
    while index < len(data):
        for escape, escape_mode in _ISO_2022_JP_ESCAPES:
            if data.startswith(escape, index):
                mode, index = escape_mode, index + len(escape)
                break
        else:
            byte = data[index]
            if mode == "jis" and 0x21 <= byte <= 0x7E and index + 1 < len(data):
                if not 0x21 <= data[index + 1] <= 0x7E:
                    return None
                out += _jis_to_sjis(byte, second=data[index + 1])
                index += 2
                continue
            out.append(byte + 0x80 if mode == "katakana" and 0x21 <= byte <= 0x5F else byte)
            index += 1
    return bytes(out)


def _jis_to_sjis(first: int, *, second: int) -> bytes:
    """One JIS X 0208 character in Shift_JIS."""
    lead = ((first + 1) >> 1) + (0x70 if first <= 0x5E else 0xB0)
    trail = second + (0x1F if first % 2 else 0x7E)
    if first % 2 and trail >= 0x7F:
        trail += 1
    return bytes((lead, trail))


def _try_decode(data: bytes, *, codec: str) -> str | None:
    """Strict decoding, None on failure."""
    if codec == "utf-16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16-be"  # RFC 2781: big-endian without a byte order mark
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError):
        return None


def decode_declared(data: bytes, *, charset: str | None, where: str) -> Decoded:
    """Decode bytes declared in a charset: the declared one, then UTF-8, then Windows-1252."""
    name = normalise_charset(charset)
    codec = resolve_codec(name) if name else None
    if data.isascii() and (codec is None or not codec.startswith(_NOT_ASCII_COMPATIBLE)):
        return Decoded(data.decode("ascii"), "ascii")
    if not name:
        return decode_undeclared(data, hint=None, where=where)
    if codec is None:
        fallback = decode_undeclared(data, hint=None, where=where)
        defect = f"unknown charset {name} in {where}, decoded as {fallback.codec}"
        return Decoded(fallback.text, fallback.codec, defect)
    for candidate in (codec, *_VARIANTS.get(codec, ())):
        text = _decode_codec(data, codec=candidate)
        if text is not None:
            alias = name in _ALIASES and name not in _SILENT_ALIASES
            note = f"charset {name} in {where} decoded as {candidate}" if alias else None
            return Decoded(text, candidate, note)
    fallback = _utf8_or_cp1252(data)
    invalid = f"invalid {name} bytes in {where}, decoded as {fallback.codec}"
    return Decoded(fallback.text, fallback.codec, invalid)


def _mixed(data: bytes) -> Decoded:
    """UTF-8 where it is valid, Windows-1252 elsewhere: the decoding that loses nothing."""
    text = data.decode("utf-8", _MIXED_ERRORS)
    plain = decode_cp1252(data)
    return Decoded(plain, _CP1252) if text == plain else Decoded(text, _MIXED)


def _utf8_or_cp1252(data: bytes) -> Decoded:
    """UTF-8 when valid, else UTF-8 where it is valid and Windows-1252 elsewhere: nothing lost."""
    text = _try_decode(data, codec="utf-8")
    if text is not None:
        return Decoded(text, "utf-8")
    return _mixed(data)


def decode_undeclared(data: bytes, *, hint: str | None, where: str) -> Decoded:
    """Guess the charset of undeclared 8-bit bytes: UTF-8, the message's charset, CJK, 1252."""
    text = _try_decode(data, codec="utf-8")
    if text is not None:
        return Decoded(text, "utf-8")  # RFC 6532 allows UTF-8 headers: no defect
    guessed = _guess(data, hint=hint)
    return Decoded(
        guessed.text, guessed.codec, f"undeclared 8-bit bytes in {where} decoded as {guessed.codec}"
    )


def _guess(data: bytes, *, hint: str | None) -> Decoded:
    """The first plausible of the hinted charset, Shift_JIS, GB18030 and Windows-1252."""
    hinted = resolve_codec(normalise_charset(hint)) if hint else None
    if hinted and hinted not in {"ascii", "utf-8", "cp1252"}:
        text = _decode_codec(data, codec=hinted)
        if text is not None:
            return Decoded(text, hinted)
    text = _try_decode(data, codec="cp932")
    if text is not None and _KANA.search(text):
        return Decoded(text, "shift_jis")  # kana: Latin or Chinese text hardly ever decodes so
    if _looks_multibyte(data):
        text = _try_decode(data, codec="gb18030")
        if text is not None:
            return Decoded(text, "gb18030")
    return _mixed(data)


def _looks_multibyte(data: bytes) -> bool:
    """Runs of high bytes: CJK text has long ones, Latin text mostly single accented letters."""
    runs = [len(run) for run in _HIGH_RUNS.findall(data)]
    return max(runs, default=0) >= 4 or sum(runs) >= 3 * len(runs)
