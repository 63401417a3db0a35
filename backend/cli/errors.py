"""How a command refuses: a French message on stderr and exit status 2."""

from typing import NoReturn

import typer


def fail(message: str) -> NoReturn:
    """Print "Erreur : message" on stderr and stop with status 2."""
    typer.echo(f"Erreur : {message}", err=True)
    raise typer.Exit(2)
