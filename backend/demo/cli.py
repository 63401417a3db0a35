"""`qualipref demo`, and the demo year `qualipref run` loads into an empty database."""

from datetime import datetime
from typing import Annotated

import typer

from backend.config import Environment, Settings, get_settings
from backend.demo.generator import DEFAULT_SEED
from backend.demo.loader import DemoSummary, load_demo_if_empty
from backend.letters.formatting import decimal_fr


def demo(
    *,
    seed: Annotated[
        int, typer.Option(help="Graine du tirage : même graine et même date, mêmes données.")
    ] = DEFAULT_SEED,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Dernier jour de l'année simulée (aujourd'hui à la préfecture par défaut).",
        ),
    ] = None,
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty", help="Ne rien faire, sans erreur, si la base contient déjà des dossiers."
        ),
    ] = False,
) -> None:
    """Fill an empty database with a year of a préfecture's correspondence."""
    settings = get_settings()
    last_day = until.date() if until else settings.today()
    if last_day > settings.today():
        typer.echo(
            f"Erreur : --until ({last_day:%d/%m/%Y}) est postérieur à aujourd'hui "
            f"({settings.today():%d/%m/%Y}).",
            err=True,
        )
        raise typer.Exit(2)
    summary = load_demo_if_empty(seed=seed, until=last_day, settings=settings)
    if summary is None:
        if if_empty:
            return
        typer.echo(
            "Erreur : la base contient déjà des dossiers ; les données de démonstration ne "
            "remplissent qu'une base vide (--if-empty : ne rien faire, sans erreur).",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(summary_line(summary))


def load_on_first_run(*, settings: Settings) -> None:
    """The demo year for `qualipref run` on a database without cases; never in production."""
    if settings.environment is Environment.PRODUCTION or not settings.demo_data:
        return
    summary = load_demo_if_empty(seed=DEFAULT_SEED, until=settings.today(), settings=settings)
    if summary is not None:
        typer.echo(f"{summary_line(summary)} (QUALIPREF_DEMO_DATA=false : démarrer à vide)")


def summary_line(summary: DemoSummary) -> str:
    """What the demo year holds, in one French line."""

    def number(value: int) -> str:
        return decimal_fr(value, places=0)

    return (
        f"Données de démonstration chargées (graine {summary.seed}) : "
        f"{number(summary.cases)} dossiers du {summary.first_day:%d/%m/%Y} au "
        f"{summary.until:%d/%m/%Y} ({number(summary.emails)} courriels, "
        f"{number(summary.letters)} courriers, {number(summary.slips)} fiches de l'urne ; "
        f"{number(summary.complaints)} réclamations, {number(summary.still_open)} encore ouverts, "
        f"{number(summary.waits)} attentes de pièces), {number(summary.messages)} messages, "
        f"{summary.mailboxes} boîtes aux lettres, {summary.accounts} comptes."
    )
