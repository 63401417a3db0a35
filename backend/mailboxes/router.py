"""/api/v1/mailboxes: declare, change and check the functional mailboxes."""

from collections.abc import Sequence

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from backend.audit.service import record
from backend.config import get_settings
from backend.database import SessionDep
from backend.mailboxes.imap import MailboxConnectionError
from backend.mailboxes.schemas import MailboxCreate, MailboxPublic, MailboxUpdate
from backend.mailboxes.service import (
    MailboxError,
    MailboxInputError,
    MailboxNotFoundError,
    create_mailbox,
    diagnose_mailbox,
    get_mailbox,
    list_mailboxes,
    update_mailbox_audited,
)
from backend.models import Mailbox
from backend.users.dependencies import AdminDep, CurrentUserDep

router = APIRouter(prefix="/mailboxes", tags=["boîtes aux lettres"])


class MailboxDiagnosisPublic(BaseModel):
    """The result of a connection test."""

    ok: bool
    message: str


def _get_or_404(session: SessionDep, slug: str) -> Mailbox:
    try:
        return get_mailbox(session, slug=slug)
    except MailboxNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error


def _unprocessable(error: MailboxInputError) -> HTTPException:
    """A field that names nothing known (an unknown service): 422 with the French reason."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error))


@router.get("", response_model=list[MailboxPublic])
def read_mailboxes(session: SessionDep, user: CurrentUserDep) -> Sequence[Mailbox]:
    """Every mailbox, with its last poll and last error."""
    return list_mailboxes(session)


@router.post("", response_model=MailboxPublic, status_code=status.HTTP_201_CREATED)
def add_mailbox(session: SessionDep, admin: AdminDep, mailbox_in: MailboxCreate) -> Mailbox:
    """Declare a functional mailbox (administrators)."""
    try:
        mailbox = create_mailbox(session, mailbox_in=mailbox_in)
    except MailboxInputError as error:
        raise _unprocessable(error) from error
    except MailboxError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    created = mailbox_in.model_dump(mode="json")
    record(
        session,
        action="mailbox.created",
        actor=admin,
        object_type="mailbox",
        object_id=mailbox.id,
        changes={name: [None, value] for name, value in created.items()},
    )
    return mailbox


@router.get("/{slug}", response_model=MailboxPublic)
def read_mailbox(session: SessionDep, user: CurrentUserDep, slug: str) -> Mailbox:
    """One mailbox."""
    return _get_or_404(session, slug)


@router.patch("/{slug}", response_model=MailboxPublic)
def change_mailbox(
    session: SessionDep, admin: AdminDep, slug: str, mailbox_in: MailboxUpdate
) -> Mailbox:
    """Change the given fields of a mailbox (administrators)."""
    mailbox = _get_or_404(session, slug)
    try:
        return update_mailbox_audited(session, mailbox=mailbox, mailbox_in=mailbox_in, actor=admin)
    except MailboxInputError as error:
        raise _unprocessable(error) from error


@router.post("/{slug}/test", response_model=MailboxDiagnosisPublic)
def test_mailbox(session: SessionDep, admin: AdminDep, slug: str) -> MailboxDiagnosisPublic:
    """Connect to the mailbox now and say what works or what does not."""
    mailbox = _get_or_404(session, slug)
    try:
        return MailboxDiagnosisPublic(
            ok=True, message=diagnose_mailbox(mailbox, settings=get_settings())
        )
    except MailboxConnectionError as error:
        return MailboxDiagnosisPublic(ok=False, message=str(error))
