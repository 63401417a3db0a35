"""`qualipref letter list` and `qualipref letter render`: the standard letters from a terminal."""

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from backend.cli.errors import fail
from backend.config import get_settings
from backend.database import session_scope
from backend.letters.pdf import PdfUnavailableError, letter_pdf
from backend.letters.rendering import TemplateRenderError
from backend.letters.service import prepare_letter
from backend.letters.templates import LetterTemplateError, letter_templates
from backend.models import Case, User

letter_app = typer.Typer(help="Lettres types.", no_args_is_help=True)


@letter_app.command("list", help="Lister les modèles de lettres et leurs variables.")
def list_letters() -> None:
    """Print each letter template and the variables an agent fills in."""
    settings = get_settings()
    for template in letter_templates(settings):
        typer.echo(f"{template.name} — {template.title}")
        for name, spec in template.asked.items():
            optional = "" if spec.required else ", facultative"
            typer.echo(f"    {name} ({spec.type.value}{optional}) : {spec.label}")


@letter_app.command("render", help="Produire le PDF d'une lettre pour un dossier (sans l'envoyer).")
def render(
    template: Annotated[str, typer.Argument(help="Modèle (voir « qualipref letter list »).")],
    *,
    case_reference: Annotated[str, typer.Option("--case", help="Référence du dossier.")],
    values: Annotated[
        list[str] | None,
        typer.Option("--set", help="Variable=valeur ; répétez pour une liste."),
    ] = None,
    signatory: Annotated[
        str | None,
        typer.Option(
            help="Adresse du signataire (défaut : l'agent à qui le dossier est attribué)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Fichier PDF à écrire.")],
) -> None:
    """Render a letter of a case to a PDF file."""
    settings = get_settings()
    try:
        with session_scope() as session:
            case = session.exec(select(Case).where(col(Case.reference) == case_reference)).first()
            if case is None:
                fail(f"aucun dossier {case_reference}.")
            actor = _signatory(session, case=case, email=signatory)
            prepared = prepare_letter(
                session,
                case=case,
                template_name=template,
                values=_parse_values(values or []),
                actor=actor,
                settings=settings,
            )
        out.write_bytes(letter_pdf(prepared.rendered.document))
    except (LetterTemplateError, TemplateRenderError, PdfUnavailableError) as error:
        fail(str(error))
    typer.echo(f"Lettre « {prepared.template.title} » écrite dans {out}.", err=True)


def _signatory(session: Session, *, case: Case, email: str | None) -> User:
    """The user who signs: the one named, else the case's agent."""
    if email is not None:
        user = session.exec(select(User).where(col(User.email) == email.strip().lower())).first()
        if user is None:
            fail(f"aucun compte {email}.")
        return user
    user = session.get(User, case.assignee_id) if case.assignee_id else None
    if user is None:
        fail(f"le dossier {case.reference} n'est attribué à personne : précisez --signatory.")
    return user


def _parse_values(pairs: list[str]) -> dict[str, object]:
    """'name=value' pairs; a name given several times makes a list."""
    values: dict[str, object] = {}
    for pair in pairs:
        name, sign, value = pair.partition("=")
        if not sign or not name.strip():
            fail(f"« {pair} » : attendu variable=valeur.")
        key = name.strip()
        if key in values:
            previous = values[key]
            values[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[key] = value
    return values
