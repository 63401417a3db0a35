"""Who gets an acknowledgement: each rule on its own, on parsed messages."""

from datetime import date

import pytest

from backend.acknowledgements.rules import (
    AUTO_REPLY_OFF_REASON,
    BEFORE_START_REASON,
    NO_ADDRESS_REASON,
    UNREADABLE_REASON,
    MailboxRules,
    OwnAddresses,
    skip_reason,
)
from backend.mail.parser import parse_message
from tests.fixtures.mailboxes import citizen_mail

OWN = OwnAddresses(
    addresses=frozenset({"prefecture@gers.gouv.fr"}), domains=frozenset({"gers.gouv.fr"})
)
OPEN = MailboxRules(auto_reply=True, start_date=date(2026, 1, 1))


def reason(
    raw: bytes,
    *,
    received_on: date = date(2026, 3, 2),
    mailbox: MailboxRules = OPEN,
    sent_recently: int = 0,
) -> str | None:
    return skip_reason(
        parsed=parse_message(raw),
        received_on=received_on,
        mailbox=mailbox,
        own=OWN,
        sent_recently=sent_recently,
        limit_per_day=3,
    )


def test_a_citizen_gets_one() -> None:
    assert reason(citizen_mail()) is None


def test_not_before_the_start_date() -> None:
    assert reason(citizen_mail(), received_on=date(2025, 12, 31)) == BEFORE_START_REASON


def test_not_when_the_mailbox_does_not_reply() -> None:
    closed = MailboxRules(auto_reply=False, start_date=date(2026, 1, 1))
    assert reason(citizen_mail(), mailbox=closed) == AUTO_REPLY_OFF_REASON


def test_not_to_an_unreadable_message() -> None:
    found = skip_reason(
        parsed=None,
        received_on=date(2026, 3, 2),
        mailbox=OPEN,
        own=OWN,
        sent_recently=0,
        limit_per_day=3,
    )
    assert found == UNREADABLE_REASON


def test_not_to_a_machine() -> None:
    raw = citizen_mail().replace(b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:")
    assert reason(raw) == "message automatique (Auto-Submitted: auto-replied)"


def test_not_without_an_address() -> None:
    assert reason(citizen_mail(sender='"Camille" <>')) == NO_ADDRESS_REASON


@pytest.mark.parametrize("sender", ["prefecture@gers.gouv.fr", "agent.accueil@GERS.gouv.fr"])
def test_not_to_the_prefecture_itself(sender: str) -> None:
    assert reason(citizen_mail(sender=sender)) == f"adresse de la préfecture ({sender.lower()})"


def test_at_most_the_limit_per_day() -> None:
    assert reason(citizen_mail(), sent_recently=2) is None
    assert reason(citizen_mail(), sent_recently=3) == (
        "limite de 3 accusés de réception en 24 heures atteinte pour camille.martin@example.org"
    )
