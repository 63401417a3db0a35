"""Every message of the shared corpus parses, and matches the expectations its sources ship."""

import hashlib
from typing import NamedTuple

import pytest

from backend.mail.parser import ParsedMessage, parse_message
from tests.fixtures.corpus import (
    CORPUS_DIR,
    CorpusEntry,
    actual_body,
    expected_values,
    mismatches,
    normalise_text,
    read_index,
)

ENTRIES = read_index()
WITH_EXPECTATIONS = [entry for entry in ENTRIES if entry.expected_file is not None]


class Difference(NamedTuple):
    """Where our result differs from the source project's: the fields, what we keep, and why."""

    fields: frozenset[str]
    kept: str  # normalised text that our subject and body hold and the source's lacks or garbles
    why: str


_BODY = frozenset({"body"})
_NESTED = "nested boundaries, one a prefix of the other: we split them as RFC 2046 and Python do"
# Each entry must still differ in exactly these fields and still keep its text, so that the
# list can neither go stale nor hide a regression.
EXPECTED_DIFFERENCES: dict[str, Difference] = {
    "stalwart-mail-parser/malformed/001.eml": Difference(_BODY, "--a", _NESTED),
    "stalwart-mail-parser/malformed/003.eml": Difference(_BODY, "body", _NESTED),
    "stalwart-mail-parser/malformed/005.eml": Difference(
        _BODY,
        "",
        "--a---- closes the outer multipart (boundary a--): the text after it is the epilogue, "
        "which RFC 2046 says to ignore; mail-parser reads it as a part",
    ),
    "stalwart-mail-parser/malformed/006.eml": Difference(_BODY, "body", _NESTED),
    "stalwart-mail-parser/malformed/008.eml": Difference(_BODY, "body body2", _NESTED),
    "stalwart-mail-parser/malformed/009.eml": Difference(_BODY, "1 22 333", _NESTED),
    "stalwart-mail-parser/malformed/011.eml": Difference(_BODY, "1 22 333", _NESTED),
    "stalwart-mail-parser/malformed/016.eml": Difference(
        _BODY,
        "4444",
        "boundaries longer than RFC 2046's 70 characters, each a prefix of the next: "
        "mail-parser drops the last part",
    ),
    "stalwart-mail-parser/malformed/019.eml": Difference(
        _BODY,
        "Plain text body of the multipart fixture.",
        "fuzzed header block and a boundary that never appears: mail-parser keeps no body "
        "text, we keep the text rather than lose it",
    ),
    "stalwart-mail-parser/malformed/020.eml": Difference(
        _BODY,
        "HTML Body",
        "two Content-Type fields in one part: we take the first (multipart/alternative) as "
        "Python does, mail-parser the last (text/plain) and shows the boundary lines as text",
    ),
    "stalwart-mail-parser/malformed/021.eml": Difference(
        _BODY, "áóúäöüß", "two Content-Type fields in one part, as in malformed/020"
    ),
    "stalwart-mail-parser/thirdparty/002.eml": Difference(
        _BODY,
        "päivää yötä vaan.",
        "base64 followed by garbage: mail-parser replaces the garbage with U+FFFD, we decode "
        "what the lenient base64 decoder salvages",
    ),
    "stalwart-mail-parser/thirdparty/005.eml": Difference(
        _BODY,
        "invalid--1--",
        'a close delimiter not at the start of a line ("invalid--1--"): not a boundary for '
        "RFC 2046 and Python's parser, a boundary for mail-parser",
    ),
    "zammad/mail018.box": Difference(
        frozenset({"subject", "body"}),
        "Übermittlung an folgende Empfänger fehlgeschlagen",
        "charset unicode-1-1-utf-7: we decode it as UTF-7, Zammad leaves it encoded (+ANw-)",
    ),
    "zammad/mail021.box": Difference(
        _BODY,
        "turning oï ered",
        "one invalid byte in UTF-8 HTML of a spam: Zammad reads it as Windows-1250, we as "
        "Windows-1252",
    ),
    "zammad/mail054.box": Difference(
        _BODY,
        "some text",
        "header lines folded without leading whitespace: we read them as continuations and "
        "find the body, Zammad finds none",
    ),
    "zammad/mail060.box": Difference(
        _BODY,
        "Here it goes - äöü - 差出人",
        "UTF-8 and Latin-1 bytes mixed under the bogus charset iso-gb2312: we decode each as "
        "what it is, Zammad produces mojibake (Ă¤ĂśĂź)",
    ),
    "zammad/mail072.box": Difference(
        _BODY,
        "suite à ma commande du 14 août 2018",
        "windows-1258 text: we decode it as declared (à), Zammad as Windows-1250 (ŕ)",
    ),
    "zammad/mail085.box": Difference(
        _BODY,
        "Geschäftsführung: Bob Smith",
        "two HTML parts around an attachment, as Apple Mail writes them: Zammad keeps the "
        "first and loses the signature, we join both as Apple Mail shows them",
    ),
    "zammad/mail087.box": Difference(
        frozenset({"from", "body"}),
        "Sie haben soeben ein neues Fax",
        'From: "Test test@example.com" unquoted: Zammad keeps the whole text as the address, '
        "we read the address test@example.com; its multipart lacks a closing boundary: "
        "Zammad finds no body, we find it",
    ),
}


def test_the_index_lists_every_corpus_file() -> None:
    """402 messages, each present with the size and hash the index gives."""
    assert len(ENTRIES) == 402
    assert len(WITH_EXPECTATIONS) == 159
    for entry in ENTRIES:
        data = entry.path.read_bytes()
        assert len(data) == entry.size, entry.relative
        assert hashlib.sha256(data).hexdigest() == entry.sha256, entry.relative


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.relative)
def test_every_message_parses(entry: CorpusEntry) -> None:
    """No exception, and values that a database and a threading engine can take."""
    parsed = parse_message(entry.path.read_bytes())
    assert parsed.message_id
    assert len(parsed.fingerprint) == 64
    assert parsed.date is None or parsed.date.utcoffset() is not None
    for text in _texts(parsed):
        assert "\x00" not in text, entry.relative
        text.encode("utf-8")  # no lone surrogate left by undecoded bytes


def _texts(parsed: ParsedMessage) -> list[str]:
    """Every string of a parsed message."""
    texts = [parsed.message_id, parsed.subject, parsed.body_text, parsed.body_html or ""]
    texts += [value for field in parsed.headers for value in field]
    texts += [a.address for a in (*parsed.to, *parsed.cc, *parsed.reply_to)]
    texts += [a.filename or "" for a in parsed.attachments]
    return texts


def test_parsing_is_deterministic() -> None:
    """The same bytes give the same value, synthesised Message-IDs included."""
    for entry in ENTRIES[::20]:
        data = entry.path.read_bytes()
        assert parse_message(data) == parse_message(data)


@pytest.mark.parametrize("entry", WITH_EXPECTATIONS, ids=lambda entry: entry.relative)
def test_from_subject_and_body_match_the_expectations(entry: CorpusEntry) -> None:
    """From, Subject and body text as the source project expects, or a listed difference."""
    expected = expected_values(entry.path)
    assert expected is not None
    parsed = parse_message(entry.path.read_bytes())
    found = mismatches(parsed, expected=expected)
    difference = EXPECTED_DIFFERENCES.get(entry.relative)
    assert differing_fields(found) == (difference.fields if difference else set()), found
    if difference is not None:
        ours = normalise_text(
            f"{parsed.subject} {actual_body(parsed, body_format=expected.body_format)}"
        )
        assert difference.kept in ours


def differing_fields(mismatches_found: list[str]) -> set[str]:
    """The names of the fields a list of mismatches is about."""
    return {found.split(":", 1)[0] for found in mismatches_found}


def test_the_listed_differences_are_corpus_files() -> None:
    """No stale entry in the list of differences."""
    for relative in EXPECTED_DIFFERENCES:
        assert (CORPUS_DIR / relative).is_file(), relative
