"""The kind a new case gets from its mailbox, and the complaint keywords that propose another."""

import re
import unicodedata
from collections.abc import Iterable

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


def default_kind(mailbox_kind: MailboxKind) -> CaseKind:
    """The kind of a new case from this mailbox."""
    return DEFAULT_KIND_BY_MAILBOX[mailbox_kind]


def suggest_complaint(*, subject: str, body: str, keywords: Iterable[str]) -> bool:
    """True when a complaint keyword starts a word of the subject or the body's beginning."""
    text = _fold(f"{subject}\n{body[:SCANNED_BODY_CHARACTERS]}")
    folded = [_fold(keyword) for keyword in keywords if keyword.strip()]
    if not folded:
        return False
    pattern = r"\b(?:" + "|".join(re.escape(keyword) for keyword in folded) + ")"
    return re.search(pattern, text) is not None


def _fold(text: str) -> str:
    """Lower case without accents: 'Réclamation' and 'reclamation' match alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
