"""The kind a new case gets from its mailbox, and the complaint keywords that propose another."""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from backend.models import CaseKind, MailboxKind

DEFAULT_KIND_BY_MAILBOX = {
    MailboxKind.CONTACT: CaseKind.INFORMATION_REQUEST,
    MailboxKind.SEJOUR: CaseKind.RESIDENCE,
    MailboxKind.QUALITE: CaseKind.SUGGESTION,
    MailboxKind.OTHER: CaseKind.OTHER,
}
# Keywords are looked for in the subject and the first part of the body only: a long thread
# quoting an old complaint must not turn every later question into one.
SCANNED_BODY_CHARACTERS = 5000
# The marks NFKD splits off accented Latin letters.
_COMBINING_MARKS = re.compile("[\u0300-\u036f]")


def default_kind(mailbox_kind: MailboxKind) -> CaseKind:
    """The kind of a new case from this mailbox."""
    return DEFAULT_KIND_BY_MAILBOX[mailbox_kind]


def suggest_complaint(*, subject: str, body: str, keywords: Iterable[str]) -> bool:
    """True when a complaint keyword starts a word of the subject or the body's beginning."""
    pattern = _keyword_pattern(tuple(keywords))
    if pattern is None:
        return False
    return pattern.search(_fold(f"{subject}\n{body[:SCANNED_BODY_CHARACTERS]}")) is not None


@lru_cache(maxsize=8)
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regular expression matching a word that starts with any keyword."""
    folded = [_fold(keyword.strip()) for keyword in keywords if keyword.strip()]
    if not folded:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(keyword) for keyword in folded) + ")")


def _fold(text: str) -> str:
    """Lower case without accents: 'Réclamation' and 'reclamation' match alike."""
    return _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))
