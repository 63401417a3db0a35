"""Alembic migrations of the schema, run by `qualipref db upgrade`."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(*, database_url: str) -> Config:
    """An Alembic configuration for this package's migrations against one database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    # Alembic interpolates %-signs in options; URLs may hold escaped passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(*, database_url: str, revision: str = "head") -> None:
    """Bring the database schema to the given revision (the newest by default)."""
    command.upgrade(alembic_config(database_url=database_url), revision)


def create_revision(*, database_url: str, message: str) -> None:
    """Write a new migration from the difference between the tables and the database."""
    command.revision(alembic_config(database_url=database_url), message=message, autogenerate=True)
