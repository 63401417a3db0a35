"""`qualipref db ...`: schema migrations."""

import typer

from backend.config import get_settings
from backend.migrations import create_revision, upgrade_database

db_app = typer.Typer(
    help="Schéma de la base de données (migrations Alembic).", no_args_is_help=True
)


@db_app.command("upgrade", help="Appliquer les migrations jusqu'à REVISION.")
def upgrade(
    revision: str = typer.Argument("head", help="Révision cible (la plus récente par défaut)."),
) -> None:
    """Apply the migrations up to REVISION."""
    upgrade_database(database_url=get_settings().database_url, revision=revision)
    typer.echo(f"Base de données à jour ({revision}).")


@db_app.command("revision", help="Écrire une migration à partir des tables (développeurs).")
def revision(
    message: str = typer.Option(..., "--message", "-m", help="Objet de la migration."),
) -> None:
    """Write a new migration from the difference between the tables and the database."""
    create_revision(database_url=get_settings().database_url, message=message)
