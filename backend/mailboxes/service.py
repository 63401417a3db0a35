"""Managing mailboxes: create, change, list, and reach their IMAP folder."""

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from backend.audit.service import record
from backend.config import Settings
from backend.mailboxes.imap import ImapSettings, MailboxConnectionError, open_folder
from backend.mailboxes.schemas import SLUG_PATTERN, MailboxCreate, MailboxPublic, MailboxUpdate
from backend.models import Mailbox, Service, User

_SLUG = re.compile(SLUG_PATTERN)


class MailboxError(ValueError):
    """A mailbox request that cannot be honoured; the message is for the person asking."""


class MailboxNotFoundError(MailboxError):
    """No mailbox has this slug."""


class MailboxInputError(MailboxError):
    """A field names something that does not exist, such as an unknown service."""


def list_mailboxes(session: Session, *, enabled_only: bool = False) -> Sequence[Mailbox]:
    """Every mailbox, by slug."""
    statement = select(Mailbox).order_by(col(Mailbox.slug))
    if enabled_only:
        statement = statement.where(col(Mailbox.enabled).is_(True))
    return session.exec(statement).all()


def mailboxes_to_watch(session: Session, *, slug: str | None) -> list[Mailbox]:
    """The enabled mailboxes, or only the one named (enabled or not), detached from session."""
    mailboxes = [
        mailbox
        for mailbox in list_mailboxes(session, enabled_only=slug is None)
        if slug is None or mailbox.slug == slug
    ]
    for mailbox in mailboxes:
        session.expunge(mailbox)
    return mailboxes


def get_mailbox(session: Session, *, slug: str) -> Mailbox:
    """The mailbox with this slug."""
    # No mailbox has a slug off the pattern; asking PostgreSQL for one with a NUL is a 500.
    mailbox = None
    if _SLUG.fullmatch(slug):
        mailbox = session.exec(select(Mailbox).where(Mailbox.slug == slug)).first()
    if mailbox is None:
        raise MailboxNotFoundError(f"Aucune boîte aux lettres « {slug} ».")
    return mailbox


def create_mailbox(session: Session, *, mailbox_in: MailboxCreate) -> Mailbox:
    """Add a mailbox; its slug must be new."""
    if session.exec(select(Mailbox.id).where(Mailbox.slug == mailbox_in.slug)).first():
        raise MailboxError(f"La boîte aux lettres « {mailbox_in.slug} » existe déjà.")
    _check_service(session, service_id=mailbox_in.service_id)
    mailbox = Mailbox.model_validate(mailbox_in)
    session.add(mailbox)
    session.flush()
    return mailbox


def update_mailbox(session: Session, *, mailbox: Mailbox, mailbox_in: MailboxUpdate) -> Mailbox:
    """Apply the fields that were given."""
    _check_service(session, service_id=mailbox_in.service_id)
    for field, value in mailbox_in.model_dump(exclude_unset=True).items():
        setattr(mailbox, field, value)
    session.add(mailbox)
    session.flush()
    return mailbox


def update_mailbox_audited(
    session: Session, *, mailbox: Mailbox, mailbox_in: MailboxUpdate, actor: User
) -> Mailbox:
    """Apply the fields that were given, traced with what each was before and after."""
    before = MailboxPublic.model_validate(mailbox).model_dump(mode="json")
    update_mailbox(session, mailbox=mailbox, mailbox_in=mailbox_in)
    after = MailboxPublic.model_validate(mailbox).model_dump(mode="json")
    record(
        session,
        action="mailbox.updated",
        actor=actor,
        object_type="mailbox",
        object_id=mailbox.id,
        changes={
            name: [before[name], after[name]] for name in after if before[name] != after[name]
        },
    )
    return mailbox


def _check_service(session: Session, *, service_id: int | None) -> None:
    """A mailbox belongs to an existing service, or to none."""
    if service_id is not None and session.get(Service, service_id) is None:
        raise MailboxInputError(f"Aucun service n° {service_id}.")


def imap_settings_for(mailbox: Mailbox, *, settings: Settings) -> ImapSettings:
    """How to reach the mailbox, its password read from the environment variable it names."""
    password = os.environ.get(mailbox.password_env)
    if not password:
        raise MailboxConnectionError(
            f"La variable d'environnement {mailbox.password_env} (mot de passe IMAP de "
            f"« {mailbox.slug} ») n'est pas définie."
        )
    return ImapSettings(
        host=mailbox.imap_host,
        port=mailbox.imap_port,
        tls=mailbox.imap_tls,
        username=mailbox.imap_username,
        password=password,
        folder=mailbox.folder,
        timeout_seconds=settings.imap_timeout_seconds,
    )


def diagnose_mailbox(mailbox: Mailbox, *, settings: Settings) -> str:
    """Connect, log in, open the folder; a sentence saying what works, or raise what does not."""
    imap_settings = imap_settings_for(mailbox, settings=settings)
    with open_folder(imap_settings) as folder:
        status = folder.status
    return (
        f"Connexion réussie à {mailbox.imap_host}:{mailbox.imap_port} "
        f"({mailbox.imap_tls.value}) : dossier « {mailbox.folder} », "
        f"{status.message_count} message(s), UIDVALIDITY {status.uidvalidity}."
    )


def take_poll_lease(
    session: Session, *, mailbox_id: int, owner: str, duration_seconds: float
) -> bool:
    """Take or renew the right to poll this mailbox; False while another poller holds it."""
    now = datetime.now(UTC)
    result = session.execute(
        update(Mailbox)
        .where(col(Mailbox.id) == mailbox_id)
        .where(
            or_(
                col(Mailbox.poll_lease_owner).is_(None),
                col(Mailbox.poll_lease_owner) == owner,
                col(Mailbox.poll_lease_expires_at) < now,
            )
        )
        .values(
            poll_lease_owner=owner,
            poll_lease_expires_at=now + timedelta(seconds=duration_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_poll_lease(session: Session, *, mailbox_id: int, owner: str) -> None:
    """Give the lease back, if this poller still holds it."""
    session.execute(
        update(Mailbox)
        .where(col(Mailbox.id) == mailbox_id, col(Mailbox.poll_lease_owner) == owner)
        .values(poll_lease_owner=None, poll_lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def record_poll_success(session: Session, *, mailbox: Mailbox) -> None:
    """The mailbox was read: clear its error and backoff."""
    now = datetime.now(UTC)
    mailbox.last_poll_at = now
    mailbox.last_success_at = now
    mailbox.last_error = None
    mailbox.consecutive_failures = 0
    mailbox.next_poll_at = None
    session.add(mailbox)


def record_poll_failure(
    session: Session, *, mailbox: Mailbox, error: str, backoff_max_seconds: float
) -> None:
    """Keep the error for the administrator and wait longer before the next periodic try."""
    now = datetime.now(UTC)
    mailbox.last_poll_at = now
    mailbox.last_error = error
    mailbox.last_error_at = now
    mailbox.consecutive_failures += 1
    backoff = min(backoff_max_seconds, 30.0 * 2 ** min(mailbox.consecutive_failures - 1, 20))
    mailbox.next_poll_at = now + timedelta(seconds=backoff)
    session.add(mailbox)
