"""The transports against a real SMTP server (aiosmtpd) and a real folder."""

from pathlib import Path

import pytest

from backend.outbox.transport import (
    FileOutbox,
    PermanentDeliveryError,
    SmtpRelay,
    TemporaryDeliveryError,
)
from tests.fixtures.dovecot import free_port
from tests.fixtures.smtp import SmtpServer

RAW = b"From: contact@gers.gouv.fr\r\nTo: camille@example.org\r\nSubject: Test\r\n\r\nBonjour\r\n"


def relay(url: str) -> SmtpRelay:
    return SmtpRelay.from_url(url, timeout_seconds=5)


def send(transport: SmtpRelay | FileOutbox, *, calls: list[str] | None = None) -> list[str]:
    """Send RAW; the calls of before_data, to check it comes before the data."""
    calls = [] if calls is None else calls
    transport.send(
        raw=RAW,
        envelope_sender="",
        recipients=["camille@example.org"],
        name="00000001",
        before_data=lambda: calls.append("before_data"),
    )
    return calls


def test_a_message_is_handed_over_unchanged_with_the_null_sender(smtp_server: SmtpServer) -> None:
    assert send(relay(smtp_server.url)) == ["before_data"]
    (received,) = smtp_server.wait_for(1)
    assert received.sender == "<>"  # aiosmtpd keeps the null reverse-path as written
    assert received.recipients == ["camille@example.org"]
    assert received.data.replace(b"\r\n", b"\n") == RAW.replace(b"\r\n", b"\n")


def test_an_unknown_recipient_is_a_permanent_failure_with_the_server_reply(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.reject_recipient("camille@example.org")
    with pytest.raises(PermanentDeliveryError) as raised:
        send(relay(smtp_server.url))
    assert raised.value.reason == "550 camille@example.org : 5.1.1 No such user here"
    assert smtp_server.messages == []


def test_a_4xx_reply_is_temporary(smtp_server: SmtpServer) -> None:
    smtp_server.reject_recipient("camille@example.org", code=451, text="4.3.0 Try again later")
    with pytest.raises(TemporaryDeliveryError, match=r"^451 camille@example\.org"):
        send(relay(smtp_server.url))


def test_a_refused_connection_is_temporary_and_nothing_was_transmitted() -> None:
    calls: list[str] = []
    with pytest.raises(TemporaryDeliveryError, match=r"Connexion refusée par 127\.0\.0\.1"):
        send(relay(f"smtp://127.0.0.1:{free_port()}"), calls=calls)
    assert calls == []


def test_an_unknown_host_is_temporary() -> None:
    with pytest.raises(
        TemporaryDeliveryError, match=r"Nom de serveur SMTP inconnu : relais\.invalid"
    ):
        send(relay("smtp://relais.invalid:25"))


def test_urls_give_tls_mode_port_and_credentials() -> None:
    parsed = relay("smtps://relais%40gers:mot%20de%20passe@smtp.gers.gouv.fr")
    assert (parsed.host, parsed.port, parsed.implicit_tls) == ("smtp.gers.gouv.fr", 465, True)
    assert (parsed.username, parsed.password) == ("relais@gers", "mot de passe")
    assert relay("smtp://smtp.gers.gouv.fr:587").port == 587
    with pytest.raises(ValueError, match=r"imap://u:\*\*\*@host"):
        relay("imap://u:secret@host")


def test_the_file_outbox_writes_one_file_per_name(tmp_path: Path) -> None:
    outbox = FileOutbox(tmp_path / "outbox")
    assert send(outbox) == ["before_data"]
    send(outbox)  # the same e-mail again replaces its file
    assert [path.name for path in (tmp_path / "outbox").iterdir()] == ["00000001.eml"]
    assert (tmp_path / "outbox" / "00000001.eml").read_bytes() == RAW
