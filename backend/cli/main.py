"""The `qualipref` command: one entry point for every operation."""

import logging

import typer

from backend import __version__
from backend.cli import processes
from backend.cli.database import db_app
from backend.config import get_settings
from backend.demo.cli import demo
from backend.indicators.cli import indicators
from backend.letters.cli import letter_app
from backend.mailboxes.cli import idle, import_mail, mailbox_app, poll
from backend.outbox.cli import outbox_app
from backend.privacy.cli import retention
from backend.users.cli import service_app, token_app, user_app

app = typer.Typer(
    name="qualipref",
    help="Qualipref : suivi des courriels, courriers et réclamations d'une préfecture.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(mailbox_app, name="mailbox")
app.add_typer(outbox_app, name="outbox")
app.add_typer(service_app, name="service")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(letter_app, name="letter")
app.command("poll", help="Relever les boîtes aux lettres.")(poll)
app.command("idle", help="Surveiller les boîtes en IMAP IDLE (nouveau courrier en secondes).")(idle)
app.command("import", help="Importer l'historique d'une boîte (mbox, Maildir, .eml).")(import_mail)
app.command("indicators", help="Tableau mensuel des indicateurs qualité, ou détail groupé.")(
    indicators
)
app.command("serve", help="Servir l'application web et l'API.")(processes.serve)
app.command("worker", help="Lancer un worker Celery (avec l'ordonnanceur en mode embarqué).")(
    processes.worker
)
app.command("beat", help="Lancer l'ordonnanceur Celery seul (un seul par installation).")(
    processes.beat
)
app.command("retention", help="Supprimer les données personnelles dont la durée est échue.")(
    retention
)
app.command("demo", help="Remplir une base vide avec une année de courrier de démonstration.")(demo)
app.command("run", help="Migrer la base puis lancer API, worker, ordonnanceur et IDLE (Ctrl-C).")(
    processes.run
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"qualipref {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Afficher la version."
    ),
) -> None:
    """Configure logging before any command runs."""
    logging.basicConfig(
        level=get_settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    """Entry point of the `qualipref` console script."""
    app()
