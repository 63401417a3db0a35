"""`qualipref user add` and `qualipref token create`: the accounts and tokens the API needs."""

from typing import Annotated

import typer
from sqlmodel import col, select

from backend.database import session_scope
from backend.models import User, UserRole
from backend.users.tokens import create_token

user_app = typer.Typer(help="Comptes des agents.", no_args_is_help=True)
token_app = typer.Typer(help="Jetons d'API personnels.", no_args_is_help=True)


@user_app.command("add", help="Créer un compte.")
def add_user(
    email: Annotated[str, typer.Argument(help="Adresse électronique de l'agent.")],
    *,
    first_name: Annotated[str, typer.Option(help="Prénom.")],
    last_name: Annotated[str, typer.Option(help="Nom.")],
    title: Annotated[str | None, typer.Option(help="Fonction, imprimée sous la signature.")] = None,
    role: Annotated[UserRole, typer.Option(help="Rôle.")] = UserRole.AGENT,
) -> None:
    """Create a user account."""
    address = email.strip().lower()
    with session_scope() as session:
        if session.exec(select(User).where(col(User.email) == address)).first() is not None:
            typer.echo(f"Erreur : un compte {address} existe déjà.", err=True)
            raise typer.Exit(2)
        session.add(
            User(email=address, first_name=first_name, last_name=last_name, title=title, role=role)
        )
    typer.echo(f"Compte {address} créé ({role.value}).")


@token_app.command("create", help="Créer un jeton d'API personnel (affiché une seule fois).")
def create(
    email: Annotated[str, typer.Argument(help="Adresse du compte.")],
    name: Annotated[str, typer.Option(help="À quoi sert le jeton.")] = "intégration",
) -> None:
    """Create a personal API token and print it once."""
    address = email.strip().lower()
    with session_scope() as session:
        user = session.exec(select(User).where(col(User.email) == address)).first()
        if user is None:
            typer.echo(f"Erreur : aucun compte {address}.", err=True)
            raise typer.Exit(2)
        token = create_token(session, user=user, name=name)
    typer.echo(token)
