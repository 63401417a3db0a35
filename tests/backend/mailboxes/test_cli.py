"""`qualipref mailbox`, `poll` and `import`, as an administrator uses them."""

import json
import mailbox as mailbox_formats
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from backend.cli.main import app
from tests.fixtures.dovecot import ImapAccount
from tests.fixtures.mailboxes import MailboxFactory, citizen_mail

runner = CliRunner()


def _add_arguments(account: ImapAccount, *, slug: str, password_env: str) -> list[str]:
    return [
        "mailbox", "add", "--slug", slug, "--kind", "contact",
        "--address", "prefecture@gers.gouv.fr", "--imap-host", account.host,
        "--imap-port", str(account.port), "--tls", "none", "--username", account.username,
        "--password-env", password_env, "--folder", "INBOX", "--since", "2026-01-01",
    ]  # fmt: skip


@pytest.mark.usefixtures("engine")
def test_an_added_mailbox_is_listed_tested_and_polled(
    imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = f"contact-{imap_account.username}"
    monkeypatch.setenv("CONTACT_IMAP_PASSWORD", imap_account.password)
    with imap_account.connect() as client:
        client.append("INBOX", citizen_mail())

    added = runner.invoke(
        app, _add_arguments(imap_account, slug=slug, password_env="CONTACT_IMAP_PASSWORD")
    )
    listed = runner.invoke(app, ["mailbox", "list"])
    tested = runner.invoke(app, ["mailbox", "test", slug])
    polled = runner.invoke(app, ["poll", "--once", "--mailbox", slug, "--json"])

    assert added.exit_code == 0, added.output
    assert slug in listed.output
    assert tested.exit_code == 0
    assert "Connexion réussie" in tested.output
    assert json.loads(polled.stdout) == {
        "mailboxes": [
            {
                "slug": slug,
                "fetched": 1,
                "new_messages": 1,
                "new_cases": 1,
                "duplicates": 0,
                "error": None,
            }
        ]
    }


def test_a_wrong_password_is_readable_in_the_list_and_the_api(
    make_mailbox: MailboxFactory, engine: Engine
) -> None:
    broken = make_mailbox(password="wrong")

    polled = runner.invoke(app, ["poll", "--once", "--mailbox", broken.slug, "--json"])
    listed = runner.invoke(app, ["mailbox", "list"])
    tested = runner.invoke(app, ["mailbox", "test", broken.slug])

    assert polled.exit_code == 1
    assert "Identifiants refusés" in json.loads(polled.stdout)["mailboxes"][0]["error"]
    assert "ERREUR" in listed.output
    assert "Identifiants refusés" in listed.output
    assert tested.exit_code == 1
    assert "Identifiants refusés" in tested.output


def test_a_duplicate_slug_is_refused_with_a_clear_message(
    imap_account: ImapAccount, engine: Engine
) -> None:
    arguments = _add_arguments(imap_account, slug=f"dup-{imap_account.username}", password_env="X")
    runner.invoke(app, arguments)

    again = runner.invoke(app, arguments)

    assert again.exit_code == 2
    assert "existe déjà" in again.output


def test_history_import_is_idempotent(
    make_mailbox: MailboxFactory, engine: Engine, tmp_path: Path
) -> None:
    target = make_mailbox()
    mbox = mailbox_formats.mbox(tmp_path / "archive.mbox")
    for number in range(5):
        mbox.add(citizen_mail(subject=f"Archive {number}"))
    mbox.flush()
    eml_folder = tmp_path / "eml"
    eml_folder.mkdir()
    (eml_folder / "one.eml").write_bytes(citizen_mail(subject="Fichier"))

    first = runner.invoke(app, ["import", str(tmp_path / "archive.mbox"), "--mailbox", target.slug])
    second = runner.invoke(
        app, ["import", str(tmp_path / "archive.mbox"), "--mailbox", target.slug]
    )
    folder = runner.invoke(app, ["import", str(eml_folder), "--mailbox", target.slug])

    assert first.exit_code == 0, first.output
    assert "5 importé(s)" in first.stdout
    assert "0 importé(s)" in second.stdout
    assert "5 déjà présent(s)" in second.stdout
    assert "1 importé(s)" in folder.stdout
