"""E-mails composed just before their first attempt, by the domain that queued them.

An acknowledgement is decided while a batch of mail is logged, but rendered by the worker that
sends it: rendering hundreds of templates would hold up the poller's transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from backend.config import Settings
from backend.models import OutboxEmail


@dataclass(frozen=True, slots=True)
class ComposedEmail:
    """The final subject and MIME bytes of an outbox e-mail."""

    subject: str
    raw: bytes


class CompositionError(Exception):
    """The e-mail cannot be composed (a template error): nothing is sent, a person must act."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Loads what it needs through the session, composes the e-mail of the row, or raises
# CompositionError.
Composer = Callable[[Session, OutboxEmail, Settings], ComposedEmail]
