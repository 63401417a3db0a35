"""`qualipref service`, `qualipref user` and `qualipref token`: services, accounts, API tokens."""

from typing import Annotated

import typer
from sqlmodel import Session, col, select

from backend.cli.errors import fail
from backend.database import session_scope
from backend.models import Service, ServiceMembership, User, UserRole
from backend.users import service as accounts
from backend.users.passwords import WeakPasswordError
from backend.users.service import UserInputError, user_by_email
from backend.users.tokens import create_token

service_app = typer.Typer(help="Services de la préfecture.", no_args_is_help=True)
user_app = typer.Typer(help="Comptes des agents.", no_args_is_help=True)
token_app = typer.Typer(help="Jetons d'API personnels.", no_args_is_help=True)


@service_app.command("add", help="Créer un service (bureau du séjour, accueil…).")
def add_service(
    slug: Annotated[str, typer.Argument(help="Identifiant court, par exemple sejour.")],
    *,
    name: Annotated[str, typer.Option(help="Nom affiché, par exemple « Bureau du séjour ».")],
    email: Annotated[str | None, typer.Option(help="Adresse fonctionnelle du service.")] = None,
) -> None:
    """Create a service."""
    try:
        with session_scope() as session:
            accounts.create_service(session, slug=slug, name=name, email=email, actor=None)
    except UserInputError as error:
        fail(str(error))
    typer.echo(f"Service {slug} créé.")


@service_app.command("list", help="Lister les services et leurs membres.")
def list_services() -> None:
    """Print each service with its members."""
    with session_scope() as session:
        for service in session.exec(select(Service).order_by(col(Service.slug))):
            members = session.exec(
                select(User.email)
                .join(ServiceMembership, col(ServiceMembership.user_id) == col(User.id))
                .where(col(ServiceMembership.service_id) == service.id)
                .order_by(col(User.email))
            ).all()
            typer.echo(f"{service.slug}\t{service.name}\t{', '.join(members) or '—'}")


@user_app.command("add", help="Créer un compte.")
def add_user(
    email: Annotated[str, typer.Argument(help="Adresse électronique de l'agent.")],
    *,
    first_name: Annotated[str, typer.Option(help="Prénom.")],
    last_name: Annotated[str, typer.Option(help="Nom.")],
    title: Annotated[str | None, typer.Option(help="Fonction, imprimée sous la signature.")] = None,
    role: Annotated[UserRole, typer.Option(help="Rôle.")] = UserRole.AGENT,
    service: Annotated[
        list[str] | None, typer.Option(help="Service dont il est membre (répétable).")
    ] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Demander un mot de passe (sinon ProConnect seul).")
    ] = False,
) -> None:
    """Create a user account, a member of the given services."""
    address = email.strip().lower()
    with session_scope() as session:
        if user_by_email(session, email=address) is not None:
            fail(f"un compte {address} existe déjà.")
        services = [
            _service(session, slug) or fail(f"aucun service {slug}.") for slug in service or []
        ]
        user = User(
            email=address, first_name=first_name, last_name=last_name, title=title, role=role
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        if password:
            _set_prompted_password(session, user=user)
        for member_of in services:
            assert member_of.id is not None
            session.add(ServiceMembership(user_id=user.id, service_id=member_of.id))
    typer.echo(f"Compte {address} créé ({role.value}).")


@user_app.command("list", help="Lister les comptes, leur rôle et leurs services.")
def list_users() -> None:
    """Print each user with role, services and whether they can sign in with a password."""
    with session_scope() as session:
        for user in session.exec(select(User).order_by(col(User.email))):
            services = session.exec(
                select(Service.slug)
                .join(ServiceMembership, col(ServiceMembership.service_id) == col(Service.id))
                .where(col(ServiceMembership.user_id) == user.id)
                .order_by(col(Service.slug))
            ).all()
            sign_in = "mot de passe" if user.password_hash else "ProConnect"
            state = "actif" if user.is_active else "désactivé"
            typer.echo(
                f"{user.email}\t{user.role.value}\t{', '.join(services) or '—'}\t{sign_in}\t{state}"
            )


@user_app.command("password", help="Définir le mot de passe d'un compte (demandé deux fois).")
def set_password(email: Annotated[str, typer.Argument(help="Adresse du compte.")]) -> None:
    """Set a user's password; the account's lock and failure count are reset."""
    with session_scope() as session:
        user = user_by_email(session, email=email) or fail(f"aucun compte {email.strip()}.")
        _set_prompted_password(session, user=user)
    typer.echo(f"Mot de passe de {user.email} enregistré.")


@token_app.command("create", help="Créer un jeton d'API personnel (affiché une seule fois).")
def create(
    email: Annotated[str, typer.Argument(help="Adresse du compte.")],
    name: Annotated[str, typer.Option(help="À quoi sert le jeton.")] = "intégration",
) -> None:
    """Create a personal API token and print it once."""
    with session_scope() as session:
        user = user_by_email(session, email=email) or fail(f"aucun compte {email.strip()}.")
        token = create_token(session, user=user, name=name)
    typer.echo(token)


def _service(session: Session, slug: str) -> Service | None:
    return session.exec(select(Service).where(col(Service.slug) == slug)).first()


def _set_prompted_password(session: Session, *, user: User) -> None:
    """The password typed twice becomes the account's (traced), or the command stops."""
    password = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    try:
        accounts.set_password(session, user=user, password=password, actor=None)
    except WeakPasswordError as error:
        fail(str(error))
