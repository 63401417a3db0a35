"""The capturing SMTP server: it keeps what it accepts and refuses what it is told to."""

import smtplib
from email.message import EmailMessage

import pytest

from tests.fixtures.smtp import SmtpServer

SENDER = "qualipref@prefecture.example"
RECIPIENT = "usager@example.org"


def message(*, subject: str, to: str) -> EmailMessage:
    """A small message from SENDER."""
    email = EmailMessage()
    email["From"] = SENDER
    email["To"] = to
    email["Subject"] = subject
    email.set_content("Votre dossier est en cours d'instruction.")
    return email


def test_sent_message_is_captured(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(message(subject="Dossier 42", to=RECIPIENT))

    [captured] = smtp_server.wait_for(1)

    assert captured.sender == SENDER
    assert captured.recipients == [RECIPIENT]
    assert isinstance(captured.data, bytes)
    assert b"Subject: Dossier 42" in captured.data
    assert smtp_server.url == f"smtp://127.0.0.1:{smtp_server.port}"


def test_rejected_recipient_is_refused_and_nothing_captured(smtp_server: SmtpServer) -> None:
    refused = "inconnu@example.org"
    smtp_server.reject_recipient(refused)

    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as error,
    ):
        client.send_message(message(subject="Refusé", to=refused))

    assert error.value.recipients[refused][0] == 550
    assert smtp_server.messages == []


def test_wait_for_gives_up(smtp_server: SmtpServer) -> None:
    with pytest.raises(TimeoutError):
        smtp_server.wait_for(1, timeout=0.2)


def test_restart_keeps_port_and_messages(smtp_server: SmtpServer) -> None:
    port = smtp_server.port
    smtp_server.stop()
    with pytest.raises(ConnectionRefusedError), smtplib.SMTP(smtp_server.host, port, timeout=2):
        pass

    smtp_server.start()
    with smtplib.SMTP(smtp_server.host, port, timeout=10) as client:
        client.send_message(message(subject="Après redémarrage", to=RECIPIENT))

    assert len(smtp_server.wait_for(1)) == 1
