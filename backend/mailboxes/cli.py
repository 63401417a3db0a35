"""`qualipref mailbox ...` and `qualipref poll`: manage mailboxes and fetch their mail."""

import json
import signal
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from backend.config import get_settings
from backend.database import get_engine, session_scope
from backend.mailboxes.idle import IdleSupervisor
from backend.mailboxes.imap import MailboxConnectionError
from backend.mailboxes.importer import ImportSourceError, count_messages, import_history
from backend.mailboxes.polling import PollReport, poll_all_mailboxes
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import (
    MailboxError,
    create_mailbox,
    diagnose_mailbox,
    get_mailbox,
    list_mailboxes,
)
from backend.models import ImapTls, Mailbox, MailboxKind

mailbox_app = typer.Typer(
    help="Boîtes aux lettres fonctionnelles relevées en IMAP.", no_args_is_help=True
)


@mailbox_app.command("add", help="Déclarer une boîte aux lettres fonctionnelle.")
def add(
    *,
    slug: Annotated[str, typer.Option(help="Identifiant court (contact, sejour, qualite…).")],
    kind: Annotated[MailboxKind, typer.Option(help="Nature de la boîte.")] = MailboxKind.OTHER,
    address: Annotated[str, typer.Option(help="Adresse électronique de la boîte.")],
    imap_host: Annotated[str, typer.Option(help="Serveur IMAP.")],
    imap_port: Annotated[int, typer.Option(help="Port IMAP.")] = 993,
    tls: Annotated[ImapTls, typer.Option(help="Chiffrement de la connexion.")] = ImapTls.SSL,
    username: Annotated[str, typer.Option(help="Identifiant IMAP.")],
    password_env: Annotated[str, typer.Option(help="Variable d'environnement du mot de passe.")],
    folder: Annotated[str, typer.Option(help="Dossier relevé.")] = "INBOX",
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Date de mise en service (aujourd'hui par défaut)."
        ),
    ] = None,
    import_before_start: Annotated[
        bool, typer.Option(help="Importer aussi le courrier plus ancien, sans accusé de réception.")
    ] = False,
    auto_reply: Annotated[bool, typer.Option(help="Accusé de réception automatique.")] = True,
) -> None:
    """Declare a functional mailbox."""
    try:
        mailbox_in = MailboxCreate(
            slug=slug,
            kind=kind,
            address=address,
            imap_host=imap_host,
            imap_port=imap_port,
            imap_tls=tls,
            imap_username=username,
            password_env=password_env,
            folder=folder,
            start_date=since.date() if since else date.today(),
            import_before_start_date=import_before_start,
            auto_reply=auto_reply,
        )
        with session_scope() as session:
            create_mailbox(session, mailbox_in=mailbox_in)
    except (MailboxError, ValueError) as error:
        typer.echo(f"Erreur : {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"Boîte « {slug} » ajoutée ({address}, relevée depuis le {mailbox_in.start_date}).")


@mailbox_app.command("list", help="Lister les boîtes et l'état de leur relève.")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
) -> None:
    """List mailboxes with how their polling goes."""
    with session_scope() as session:
        mailboxes = list_mailboxes(session)
        rows = [_mailbox_row(mailbox) for mailbox in mailboxes]
    if as_json:
        typer.echo(json.dumps({"mailboxes": rows}, ensure_ascii=False, default=str))
        return
    if not rows:
        typer.echo("Aucune boîte aux lettres.")
    for row in rows:
        typer.echo(_describe_row(row))


@mailbox_app.command("test", help="Se connecter à une boîte et diagnostiquer.")
def check_connection(
    slug: Annotated[str, typer.Argument(help="Identifiant de la boîte.")],
) -> None:
    """Connect to a mailbox and say what works or what does not."""
    settings = get_settings()
    try:
        with session_scope() as session:
            mailbox = get_mailbox(session, slug=slug)
        typer.echo(diagnose_mailbox(mailbox, settings=settings))
    except (MailboxError, MailboxConnectionError) as error:
        typer.echo(f"Échec : {error}", err=True)
        raise typer.Exit(1) from error


def poll(
    *,
    once: Annotated[
        bool, typer.Option("--once", help="Une seule passe puis sortie (sinon, relève en boucle).")
    ] = False,
    mailbox: Annotated[
        str | None, typer.Option("--mailbox", help="Ne relever que cette boîte.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Un objet JSON sur la sortie standard.")
    ] = False,
) -> None:
    """Poll the enabled mailboxes (once, or every poll interval) and report per mailbox."""
    settings = get_settings()
    while not once:
        for report in poll_all_mailboxes(settings=settings, slug=mailbox):
            typer.echo(_describe_report(report))
        time.sleep(settings.poll_interval_seconds)
    reports = poll_all_mailboxes(settings=settings, slug=mailbox)
    if mailbox is not None and not reports:
        typer.echo(f"Erreur : aucune boîte aux lettres « {mailbox} ».", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps({"mailboxes": [r.as_dict() for r in reports]}, ensure_ascii=False))
    else:
        for report in reports:
            typer.echo(_describe_report(report))
    if any(report.error for report in reports):
        raise typer.Exit(1)


def _mailbox_row(mailbox: Mailbox) -> dict[str, object]:
    return {
        "slug": mailbox.slug,
        "kind": mailbox.kind.value,
        "address": mailbox.address,
        "server": f"{mailbox.imap_host}:{mailbox.imap_port} ({mailbox.imap_tls.value})",
        "folder": mailbox.folder,
        "enabled": mailbox.enabled,
        "start_date": mailbox.start_date,
        "last_success_at": mailbox.last_success_at,
        "last_error": mailbox.last_error,
        "last_error_at": mailbox.last_error_at,
    }


def _describe_row(row: dict[str, object]) -> str:
    state = "active" if row["enabled"] else "désactivée"
    lines = [
        f"{row['slug']} <{row['address']}> [{row['kind']}, {state}] {row['server']} "
        f"dossier {row['folder']}, depuis le {row['start_date']}",
        f"  dernière relève réussie : {row['last_success_at'] or 'jamais'}",
    ]
    if row["last_error"]:
        lines.append(f"  ERREUR ({row['last_error_at']}) : {row['last_error']}")
    return "\n".join(lines)


def _describe_report(report: PollReport) -> str:
    summary = (
        f"{report.slug} : {report.fetched} relevé(s), {report.new_messages} nouveau(x) "
        f"message(s), {report.new_cases} nouveau(x) dossier(s), {report.duplicates} doublon(s)"
    )
    return f"{summary}, ERREUR : {report.error}" if report.error else summary


def import_mail(
    path: Annotated[Path, typer.Argument(help="Fichier mbox, dossier Maildir ou dossier de .eml.")],
    *,
    mailbox: Annotated[str, typer.Option("--mailbox", help="Boîte aux lettres de destination.")],
) -> None:
    """Import a mailbox's history; running it twice imports nothing new."""
    settings = get_settings()
    try:
        with session_scope() as session:
            get_mailbox(session, slug=mailbox)
        total = count_messages(path)
        with typer.progressbar(length=total, label="Import", file=sys.stderr) as progress:
            report = import_history(
                path=path,
                slug=mailbox,
                settings=settings,
                engine=get_engine(),
                on_progress=progress.update,
            )
    except (MailboxError, ImportSourceError) as error:
        typer.echo(f"Erreur : {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(
        f"{report.read} message(s) lu(s) : {report.new_messages} importé(s) "
        f"({report.new_cases} nouveau(x) dossier(s)), {report.duplicates} déjà présent(s), "
        f"{report.unreadable} illisible(s) conservé(s) brut(s)."
    )


def idle(
    mailbox: Annotated[
        str | None, typer.Option("--mailbox", help="Ne surveiller que cette boîte.")
    ] = None,
) -> None:
    """Watch the mailboxes with IMAP IDLE and log new mail within seconds (Ctrl-C to stop)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    supervisor = IdleSupervisor(settings=get_settings(), engine=get_engine(), slug=mailbox)
    typer.echo("Surveillance IDLE des boîtes activées (Ctrl-C pour arrêter).")
    supervisor.run(stop=stop)
