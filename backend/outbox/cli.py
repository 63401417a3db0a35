"""`qualipref outbox ...`: what outgoing mail waits, went out or failed, and retrying it."""

import json
from typing import Annotated, Any

import typer
from sqlmodel import col, select

from backend.database import session_scope
from backend.models import OutboxEmail, OutboxStatus
from backend.outbox.labels import OUTBOX_STATUS_LABELS
from backend.outbox.service import requeue_email

outbox_app = typer.Typer(help="File d'envoi des courriels sortants.", no_args_is_help=True)


@outbox_app.command("list", help="Lister les courriels sortants, les plus récents d'abord.")
def list_(
    status: Annotated[
        OutboxStatus | None, typer.Option(help="Ne montrer que les courriels dans cet état.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Nombre maximal de lignes.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
) -> None:
    """List outgoing e-mails with their state and, for failures, the server's reply."""
    with session_scope() as session:
        query = select(OutboxEmail).order_by(col(OutboxEmail.id).desc()).limit(limit)
        if status is not None:
            query = query.where(col(OutboxEmail.status) == status)
        rows = [_row(email) for email in session.exec(query).all()]
    if as_json:
        typer.echo(json.dumps({"emails": rows}, ensure_ascii=False, default=str))
        return
    if not rows:
        typer.echo("Aucun courriel.")
    for row in rows:
        typer.echo(_describe(row))


@outbox_app.command("retry", help="Renvoyer un courriel en échec ou incertain.")
def retry(outbox_id: Annotated[int, typer.Argument(help="Numéro du courriel.")]) -> None:
    """Queue a failed or uncertain e-mail again and ask a worker to send it now."""
    try:
        with session_scope() as session:
            email = requeue_email(session, outbox_id=outbox_id)
            recipients = ", ".join(email.recipients)
    except (LookupError, ValueError) as error:
        typer.echo(f"Erreur : {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"Courriel n° {outbox_id} remis en file d'envoi pour {recipients}.")


def _row(email: OutboxEmail) -> dict[str, Any]:
    return {
        "id": email.id,
        "status": email.status.value,
        "purpose": email.purpose.value,
        "case_id": email.case_id,
        "recipients": email.recipients,
        "subject": email.subject,
        "attempts": email.attempts,
        "created_at": email.created_at,
        "sent_at": email.sent_at,
        "next_attempt_at": email.next_attempt_at,
        "last_error": email.last_error,
    }


def _describe(row: dict[str, Any]) -> str:
    status = OUTBOX_STATUS_LABELS[OutboxStatus(row["status"])]
    line = f"n° {row['id']} [{status}] {', '.join(row['recipients'])} : {row['subject']}"
    if row["attempts"]:
        line += f" ({row['attempts']} essai{'s' if row['attempts'] > 1 else ''})"
    if row["last_error"] and row["status"] != OutboxStatus.SENT:
        line += f"\n    dernière erreur : {row['last_error']}"
    return line
