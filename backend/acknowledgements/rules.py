"""Who gets an automatic acknowledgement: pure rules, each refusal with a reason for the case."""

from dataclasses import dataclass
from datetime import date

from backend.mail.message import ParsedMessage

BEFORE_START_REASON = "reçu avant la date de mise en service de la boîte"
AUTO_REPLY_OFF_REASON = "réponse automatique désactivée pour cette boîte"
UNREADABLE_REASON = "message illisible"
NO_ADDRESS_REASON = "aucune adresse à laquelle répondre"


@dataclass(frozen=True, slots=True)
class OwnAddresses:
    """The préfecture's own addresses and mail domains."""

    addresses: frozenset[str]
    domains: frozenset[str]

    def holds(self, address: str) -> bool:
        """True for one of the préfecture's addresses, or any address in its domains."""
        address = address.lower()
        return address in self.addresses or address.rpartition("@")[2] in self.domains


@dataclass(frozen=True, slots=True)
class MailboxRules:
    """What the mailbox decides: whether it replies at all, and from when."""

    auto_reply: bool
    start_date: date


def skip_reason(
    *,
    parsed: ParsedMessage | None,
    received_on: date,
    mailbox: MailboxRules,
    own: OwnAddresses,
    sent_recently: int,
    limit_per_day: int,
) -> str | None:
    """Why the first message of a new case gets no acknowledgement, or None when it gets one.

    sent_recently counts the acknowledgements its reply address got in the last 24 hours.
    """
    if received_on < mailbox.start_date:
        return BEFORE_START_REASON
    if not mailbox.auto_reply:
        return AUTO_REPLY_OFF_REASON
    if parsed is None:
        return UNREADABLE_REASON
    if parsed.automation_markers:
        return f"message automatique ({', '.join(parsed.automation_markers)})"
    recipient = parsed.reply_address
    if recipient is None or "@" not in recipient.address:
        return NO_ADDRESS_REASON
    if own.holds(recipient.address):
        return f"adresse de la préfecture ({recipient.address})"
    if sent_recently >= limit_per_day:
        return (
            f"limite de {limit_per_day} accusés de réception en 24 heures atteinte "
            f"pour {recipient.address}"
        )
    return None
