"""`qualipref indicators`: the monthly table or the grouped indicators, on screen or to a file."""

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.errors import fail
from backend.config import get_settings
from backend.database import session_scope
from backend.indicators.exports import ExportFormat, Report, groups_report, table_report
from backend.indicators.periods import PeriodError, parse_dimensions, requested_months
from backend.indicators.service import IndicatorRequest, compute_indicators
from backend.indicators.table import quality_table


def indicators(
    first: Annotated[
        str | None,
        typer.Option("--from", help="Premier mois, AAAA-MM (défaut : il y a 11 mois)."),
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Dernier mois, AAAA-MM (défaut : ce mois-ci).")
    ] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="Détail par channel, kind, mailbox, service (séparés par des virgules) "
            "au lieu du tableau mensuel.",
        ),
    ] = None,
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="table, csv, json ou xlsx.")
    ] = ExportFormat.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Fichier à écrire.")] = None,
) -> None:
    """Print or write the monthly quality table, or the indicators per month and group."""
    if export_format is ExportFormat.XLSX and out is None:
        fail("le format xlsx s'écrit dans un fichier : ajoutez --out FICHIER.xlsx.")
    settings = get_settings()
    try:
        months = requested_months(first=first, last=last, today=settings.today())
        dimensions = parse_dimensions(group_by)
    except PeriodError as error:
        fail(str(error))
    with session_scope() as session:
        report: Report
        if dimensions:
            groups = compute_indicators(
                session,
                request=IndicatorRequest(months=months, dimensions=dimensions),
                settings=settings,
            )
            report = groups_report(
                groups, months=months, dimensions=dimensions, export_format=export_format
            )
        else:
            table = quality_table(session, months=months, settings=settings)
            report = table_report(table, export_format=export_format)
    if out is None:
        typer.echo(report.content.decode("utf-8-sig"), nl=False)
        return
    out.write_bytes(report.content)
    typer.echo(f"Indicateurs écrits dans {out}.", err=True)
