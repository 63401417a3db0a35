"""`qualipref outbox`, as an operator uses it after a relay refused a message."""

import json

from sqlalchemy import Engine, update
from sqlmodel import Session, col
from typer.testing import CliRunner

from backend.cli.main import app
from backend.config import Settings
from backend.database import session_scope
from backend.models import OutboxEmail, OutboxStatus
from tests.backend.outbox.test_delivery import queue_acknowledgement

runner = CliRunner()


def fail(engine: Engine, outbox_id: int, *, reason: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == outbox_id)
            .values(status=OutboxStatus.FAILED, attempts=1, last_error=reason)
        )


def test_a_failed_e_mail_is_listed_with_the_server_reply_and_retried(
    committed_engine: Engine, settings: Settings
) -> None:
    failed = queue_acknowledgement(committed_engine, settings, to="inconnu@example.org")
    queued = queue_acknowledgement(committed_engine, settings)
    fail(committed_engine, failed, reason="550 inconnu@example.org : 5.1.1 No such user here")

    listed = runner.invoke(app, ["outbox", "list", "--status", "failed", "--json"])
    text = runner.invoke(app, ["outbox", "list"])
    retried = runner.invoke(app, ["outbox", "retry", str(failed)])
    refused = runner.invoke(app, ["outbox", "retry", str(queued + 1000)])

    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)["emails"]
    assert (row["id"], row["recipients"]) == (failed, ["inconnu@example.org"])
    assert row["last_error"] == "550 inconnu@example.org : 5.1.1 No such user here"
    assert f"n° {failed} [en échec] inconnu@example.org" in text.output
    assert "dernière erreur : 550 inconnu@example.org" in text.output
    assert f"n° {queued} [en attente]" in text.output
    assert retried.exit_code == 0, retried.output
    assert f"Courriel n° {failed} remis en file d'envoi" in retried.output
    with Session(committed_engine) as session:
        email = session.get(OutboxEmail, failed)
        assert email is not None
        assert email.status is OutboxStatus.QUEUED
    assert refused.exit_code == 2
    assert f"aucun courriel n° {queued + 1000}" in refused.output
