"""Every message of the shared corpus parses, and matches the expectations its sources ship."""

import hashlib

import pytest

from backend.mail.parser import ParsedMessage, parse_message
from tests.fixtures.corpus import CORPUS_DIR, CorpusEntry, expected_values, mismatches, read_index

ENTRIES = read_index()
WITH_EXPECTATIONS = [entry for entry in ENTRIES if entry.expected_file is not None]

_NESTED_PREFIX = "nested boundaries, one a prefix of the other: the parsers split them differently"
_TITLE = "Zammad keeps the text of the HTML <title>; we drop the <head> as browsers do"
_FROM_EMPTY = 'From is "name" <>: Zammad falls back to Reply-To, we report no sender'
# Where our result differs from the source project's, and why ours is kept: each entry must
# still differ in exactly these fields, so that the list cannot go stale.
EXPECTED_DIFFERENCES: dict[str, tuple[frozenset[str], str]] = {
    "stalwart-mail-parser/malformed/001.eml": (frozenset({"body"}), _NESTED_PREFIX),
    "stalwart-mail-parser/malformed/003.eml": (frozenset({"body"}), _NESTED_PREFIX),
    "stalwart-mail-parser/malformed/005.eml": (frozenset({"body"}), _NESTED_PREFIX),
    "stalwart-mail-parser/malformed/006.eml": (frozenset({"body"}), _NESTED_PREFIX),
    "stalwart-mail-parser/malformed/008.eml": (frozenset({"body"}), _NESTED_PREFIX),
    "stalwart-mail-parser/malformed/009.eml": (frozenset({"body"}), _NESTED_PREFIX),
    "stalwart-mail-parser/malformed/011.eml": (frozenset({"body"}), _NESTED_PREFIX),
    "stalwart-mail-parser/malformed/016.eml": (
        frozenset({"body"}),
        "boundaries longer than RFC 2046's 70 characters, each a prefix of the next",
    ),
    "stalwart-mail-parser/malformed/019.eml": (
        frozenset({"body"}),
        "fuzzed header block and a boundary that never appears: mail-parser keeps no body "
        "text, we keep the text rather than lose it",
    ),
    "stalwart-mail-parser/malformed/020.eml": (
        frozenset({"body"}),
        "two Content-Type fields in one part: Python's parser takes the first "
        "(multipart/alternative), mail-parser the last (text/plain)",
    ),
    "stalwart-mail-parser/malformed/021.eml": (
        frozenset({"body"}),
        "two Content-Type fields in one part, as in malformed/020",
    ),
    "stalwart-mail-parser/thirdparty/002.eml": (
        frozenset({"body"}),
        "base64 followed by garbage: mail-parser replaces the garbage with U+FFFD, we decode "
        "what the lenient base64 decoder salvages",
    ),
    "stalwart-mail-parser/thirdparty/005.eml": (
        frozenset({"body"}),
        'a close delimiter not at the start of a line ("invalid--1--"): not a boundary for '
        "Python's parser (RFC 2046), a boundary for mail-parser",
    ),
    "zammad/mail016.box": (frozenset({"from", "body"}), f"{_FROM_EMPTY}; {_TITLE}"),
    "zammad/mail018.box": (
        frozenset({"subject", "body"}),
        "charset unicode-1-1-utf-7: we decode it as UTF-7, Zammad leaves it encoded",
    ),
    "zammad/mail019.box": (frozenset({"from", "body"}), f"{_FROM_EMPTY}; {_TITLE}"),
    "zammad/mail021.box": (
        frozenset({"body"}),
        "one invalid byte in UTF-8 HTML: Zammad reads it as Windows-1250, we as Windows-1252",
    ),
    "zammad/mail026.box": (frozenset({"body"}), _TITLE),
    "zammad/mail047.box": (frozenset({"body"}), _TITLE),
    "zammad/mail049.box": (frozenset({"body"}), _TITLE),
    "zammad/mail066.box": (frozenset({"body"}), _TITLE),
    "zammad/mail054.box": (
        frozenset({"body"}),
        "header lines folded without leading whitespace: we read them as continuations and "
        "find the body, Zammad finds none",
    ),
    "zammad/mail060.box": (
        frozenset({"body"}),
        "UTF-8 and Latin-1 bytes mixed under the bogus charset iso-gb2312: we decode each as "
        "what it is, Zammad produces mojibake",
    ),
    "zammad/mail072.box": (
        frozenset({"body"}),
        "windows-1258 text: we decode it as declared (à), Zammad as Windows-1250 (ŕ)",
    ),
    "zammad/mail085.box": (
        frozenset({"body"}),
        "two HTML parts in a multipart/mixed alternative: Zammad keeps the first, we join both",
    ),
    "zammad/mail087.box": (
        frozenset({"from", "body"}),
        'From: "Test test@example.com" is name Test and address test@example.com for us; '
        "its multipart lacks a closing boundary: Zammad finds no body, we find it",
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
    found = mismatches(parse_message(entry.path.read_bytes()), expected=expected)
    fields = {difference.split(":", 1)[0] for difference in found}
    listed, _reason = EXPECTED_DIFFERENCES.get(entry.relative, (frozenset(), ""))
    assert fields == listed, found


def test_the_listed_differences_are_corpus_files() -> None:
    """No stale entry in the list of differences."""
    for relative in EXPECTED_DIFFERENCES:
        assert (CORPUS_DIR / relative).is_file(), relative
