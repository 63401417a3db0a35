"""`qualipref retention`: remove the personal data whose time is over, or show what would go."""

from typing import Annotated

import typer

from backend.config import get_settings
from backend.database import session_scope
from backend.models.types import utc_now
from backend.privacy.service import apply_retention, delete_stored_files


def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Montrer ce qui serait supprimé, sans rien changer.")
    ] = False,
) -> None:
    """Apply the retention periods now (beat does it every night)."""
    settings = get_settings()
    with session_scope() as session:
        report = apply_retention(session, settings=settings, now=utc_now(), dry_run=dry_run)
    files = 0 if dry_run else delete_stored_files(digests=report.files_to_delete, settings=settings)
    verb = "seraient anonymisés" if dry_run else "anonymisés"
    typer.echo(f"{len(report.case_references)} dossiers {verb}.")
    for reference in report.case_references:
        typer.echo(f"  {reference}")
    if not dry_run:
        typer.echo(f"{files} fichiers supprimés du stockage.")
    deleted = "à supprimer" if dry_run else "supprimés"
    typer.echo(f"{report.audit_events_deleted} événements du journal {deleted}.")
    typer.echo(f"{report.sessions_deleted} sessions terminées {deleted}.")
