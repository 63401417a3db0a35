"""/api/v1/cases: read a case, register paper mail, and each operation of an agent's work.

Every change names the version it was made on (`If-Match`, the `ETag` of the case): a stale
version is refused with 412, so two agents never silently overwrite each other.
"""

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Body,
    HTTPException,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import FileResponse, JSONResponse
from sqlmodel import Session

from backend.audit.service import record
from backend.cases import service
from backend.cases.dependencies import CaseForChangeDep, VisibleCaseDep
from backend.cases.presentation import public_case, public_cases
from backend.cases.replies import reply_by_email
from backend.cases.repository import (
    CaseSort,
    InvalidCursorError,
    canned_replies,
    case_attachment,
    case_events,
    case_filters,
    case_letters,
    case_messages,
    case_outbox,
    case_waiting_periods,
    count_by_status,
    list_cases,
)
from backend.cases.schemas import (
    AnsweredElsewhereRequest,
    AssignRequest,
    AttachmentPublic,
    CannedReplyCreate,
    CannedReplyPublic,
    CannedReplyUpdate,
    CaseDetail,
    CaseListPublic,
    CasePublic,
    ClassifyRequest,
    DocumentsRequest,
    EventPublic,
    HoldingReplyRequest,
    LetterPublic,
    MergeRequest,
    MessagePublic,
    NoteRequest,
    OutboxEmailPublic,
    PaperMailCreate,
    ReplyRequest,
    StatusRequest,
    WaitingPeriodPublic,
)
from backend.cases.service import (
    CaseForbiddenError,
    CaseInputError,
    CaseNotFoundError,
    PaperMail,
    StaleCaseError,
)
from backend.cases.workflow import TransitionNotAllowedError
from backend.config import Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.models import CannedReply, Case, CaseChannel, CaseKind, CaseStatus, Service
from backend.models.types import utc_now
from backend.storage.filestore import FileStore
from backend.users.access import ViewerDep
from backend.users.dependencies import CurrentUserDep
from backend.validation import Day, RowId, Text

router = APIRouter(prefix="/cases", tags=["dossiers"])
canned_router = APIRouter(prefix="/canned-replies", tags=["réponses types"])
# A citizen's file is never interpreted by the browser: no sniffing, no scripts if opened.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}
DEFAULT_PAPER_KIND = {
    CaseChannel.PAPER: CaseKind.INFORMATION_REQUEST,
    CaseChannel.SUGGESTION_BOX: CaseKind.SUGGESTION,
}
CASE_ERRORS: dict[type[Exception], int] = {
    TransitionNotAllowedError: status.HTTP_409_CONFLICT,
    CaseNotFoundError: status.HTTP_404_NOT_FOUND,
    CaseForbiddenError: status.HTTP_403_FORBIDDEN,
    StaleCaseError: status.HTTP_412_PRECONDITION_FAILED,
    CaseInputError: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


@router.get("", response_model=CaseListPublic)
def read_cases(
    session: SessionDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    mailbox_id: RowId | None = None,
    channel: CaseChannel | None = None,
    kind: CaseKind | None = None,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    service_id: RowId | None = None,
    assignee_id: RowId | None = None,
    overdue: Annotated[bool, Query(description="Seulement les dossiers en retard.")] = False,
    due_before: date | None = None,
    received_from: Annotated[Day | None, Query(description="Reçus ce jour ou après.")] = None,
    received_to: Annotated[Day | None, Query(description="Reçus ce jour ou avant.")] = None,
    q: Annotated[
        Text | None,
        Query(
            max_length=200, description="Texte cherché dans l'objet, l'expéditeur, les messages."
        ),
    ] = None,
    sort: CaseSort = CaseSort.DUE_DATE,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CaseListPublic:
    """Cases, the most urgent first (or the most recent), a page at a time."""
    filters = case_filters(
        settings=settings,
        mailbox_id=mailbox_id,
        channel=channel,
        kind=kind,
        status=status_,
        service_id=service_id,
        assignee_id=assignee_id,
        overdue=overdue,
        due_before=due_before,
        received_from=received_from,
        received_to=received_to,
        text=q,
    )
    try:
        page = list_cases(
            session, viewer=viewer, filters=filters, sort=sort, cursor=cursor, limit=limit
        )
    except InvalidCursorError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(error)) from error
    return CaseListPublic(
        items=public_cases(session, page.cases, settings=settings),
        next_cursor=page.next_cursor,
        counts=(
            count_by_status(session, viewer=viewer, filters=filters) if cursor is None else None
        ),
    )


@router.get("/{case_id}", response_model=CaseDetail)
def read_case(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: VisibleCaseDep,
    response: Response,
) -> CaseDetail:
    """A case with its messages, outgoing mail, waiting periods and timeline; the view is traced."""
    assert case.id is not None
    record(session, action="case.viewed", actor=user, case_id=case.id, object_type="case")
    response.headers["ETag"] = _etag(case)
    public = public_case(session, case, settings=settings)
    return CaseDetail(
        **public.model_dump(),
        messages=[
            MessagePublic.model_validate(
                {
                    **message.model_dump(),
                    "attachments": [AttachmentPublic.model_validate(a) for a in attachments],
                }
            )
            for message, attachments in case_messages(session, case_id=case.id)
        ],
        letters=[LetterPublic.model_validate(x) for x in case_letters(session, case_id=case.id)],
        outbox=[OutboxEmailPublic.model_validate(e) for e in case_outbox(session, case_id=case.id)],
        waiting_periods=[
            WaitingPeriodPublic.model_validate(p)
            for p in case_waiting_periods(session, case_id=case.id)
        ],
        events=[EventPublic.model_validate(e) for e in case_events(session, case_id=case.id)],
    )


@router.get(
    "/{case_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_attachment(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: VisibleCaseDep,
    attachment_id: RowId,
) -> FileResponse:
    """An attachment of the case, always as a download: never shown inline by the browser."""
    assert case.id is not None
    attachment = case_attachment(session, case_id=case.id, attachment_id=attachment_id)
    if attachment is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"Aucune pièce jointe n° {attachment_id} dans le dossier n° {case.id}.",
        )
    record(
        session,
        action="attachment.downloaded",
        actor=user,
        case_id=case.id,
        object_type="attachment",
        object_id=attachment.id,
    )
    return FileResponse(
        FileStore(settings.file_store_dir).path_for(attachment.sha256),
        media_type=attachment.content_type,
        filename=attachment.filename or f"piece-jointe-{attachment.id}",
        content_disposition_type="attachment",
        headers=DOWNLOAD_HEADERS,
    )


@router.post("/paper", response_model=CasePublic, status_code=status.HTTP_201_CREATED)
def register_paper(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    paper_in: PaperMailCreate,
    response: Response,
) -> CasePublic:
    """Register a letter or a suggestion-box slip; the reference goes on the envelope."""
    paper = PaperMail(
        channel=paper_in.channel,
        received_on=paper_in.received_on or settings.today(),
        sender_name=paper_in.sender_name,
        sender_postal_address=paper_in.sender_postal_address,
        sender_email=paper_in.sender_email,
        subject=paper_in.subject,
        kind=paper_in.kind or DEFAULT_PAPER_KIND[paper_in.channel],
    )
    case = service.register_paper(session, paper=paper, actor=user, settings=settings)
    return _changed(session, case, settings=settings, response=response)


@router.put("/{case_id}/scan", response_model=CasePublic)
def attach_scan(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    pdf: Annotated[bytes, Body(media_type="application/pdf", description="Le PDF numérisé.")],
    response: Response,
) -> CasePublic:
    """Attach the scanned letter or slip (a PDF, as the request body)."""
    service.attach_scan(session, case=case, pdf=pdf, actor=user, settings=settings)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/classify", response_model=CasePublic)
def classify(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: ClassifyRequest,
    response: Response,
) -> CasePublic:
    """Confirm or choose the kind (complaint, suggestion, information request, residence…)."""
    service.classify(session, case=case, kind=request.kind, actor=user, settings=settings)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/assign", response_model=CasePublic)
def assign(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: AssignRequest,
    response: Response,
) -> CasePublic:
    """Give the case to a service and, optionally, one of its agents."""
    service.assign(
        session,
        case=case,
        service_id=request.service_id,
        assignee_id=request.assignee_id,
        actor=user,
    )
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/status", response_model=CasePublic)
def set_status(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: StatusRequest,
    response: Response,
) -> CasePublic:
    """Change the status directly, where the lifecycle allows it."""
    service.set_status(session, case=case, status=request.status, actor=user)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/holding-reply", response_model=CasePublic)
def record_holding_reply(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: HoldingReplyRequest,
    response: Response,
) -> CasePublic:
    """Record a reply that announces the processing delay (réponse d'attente)."""
    service.record_holding_reply(
        session,
        case=case,
        announced_delay_days=request.announced_delay_days,
        actor=user,
        settings=settings,
    )
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/answered-elsewhere", response_model=CasePublic)
def mark_answered_elsewhere(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: AnsweredElsewhereRequest,
    response: Response,
) -> CasePublic:
    """Record an answer given by phone, by post or in person, on its date."""
    service.mark_answered_elsewhere(
        session,
        case=case,
        channel=request.channel,
        answered_on=request.answered_on,
        actor=user,
        settings=settings,
    )
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/documents-requested", response_model=CasePublic)
def request_documents(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: DocumentsRequest,
    response: Response,
) -> CasePublic:
    """Ask the citizen for documents: the case waits for them."""
    service.request_documents(
        session, case=case, documents=request.documents, actor=user, settings=settings
    )
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/documents-received", response_model=CasePublic)
def documents_received(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    response: Response,
) -> CasePublic:
    """The requested documents arrived."""
    service.documents_received(session, case=case, actor=user, settings=settings)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/close", response_model=CasePublic)
def close(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    response: Response,
) -> CasePublic:
    """Close the case."""
    service.close(session, case=case, actor=user, settings=settings)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/reopen", response_model=CasePublic)
def reopen(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    response: Response,
) -> CasePublic:
    """Reopen a closed or answered case."""
    service.reopen(session, case=case, actor=user)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/notes", response_model=CasePublic)
def add_note(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: NoteRequest,
    response: Response,
) -> CasePublic:
    """Add an internal note to the timeline."""
    service.add_note(session, case=case, text=request.text, actor=user)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/merge", response_model=CasePublic)
def merge(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    viewer: ViewerDep,
    case: CaseForChangeDep,
    request: MergeRequest,
    response: Response,
) -> CasePublic:
    """Merge another case of the same citizen into this one (its messages come along)."""
    source = service.load_case(
        session,
        case_id=request.source_case_id,
        viewer=viewer,
        expected_version=request.source_version,
    )
    service.merge(session, target=case, source=source, actor=user, settings=settings)
    return _changed(session, case, settings=settings, response=response)


@router.post("/{case_id}/reply", response_model=CasePublic)
def reply(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    case: CaseForChangeDep,
    request: ReplyRequest,
    response: Response,
) -> CasePublic:
    """Answer by e-mail in the citizen's thread, signed with the agent's name and title."""
    reply_by_email(
        session,
        case=case,
        text=request.text,
        canned_reply_id=request.canned_reply_id,
        variables=request.variables,
        actor=user,
        settings=settings,
    )
    return _changed(session, case, settings=settings, response=response)


@canned_router.get("", response_model=list[CannedReplyPublic])
def read_canned_replies(
    session: SessionDep, user: CurrentUserDep, service_id: RowId | None = None
) -> Sequence[CannedReply]:
    """The canned replies of a service, and those of every service."""
    return canned_replies(session, service_id=service_id)


@canned_router.post("", response_model=CannedReplyPublic, status_code=status.HTTP_201_CREATED)
def add_canned_reply(
    session: SessionDep, user: CurrentUserDep, canned_in: CannedReplyCreate
) -> CannedReply:
    """Add a canned reply to the library."""
    _check_service(session, canned_in.service_id)
    canned = CannedReply.model_validate(canned_in)
    session.add(canned)
    session.flush()
    return canned


@canned_router.patch("/{canned_id}", response_model=CannedReplyPublic)
def change_canned_reply(
    session: SessionDep, user: CurrentUserDep, canned_id: RowId, canned_in: CannedReplyUpdate
) -> CannedReply:
    """Change the title or the text of a canned reply."""
    canned = _canned_or_404(session, canned_id)
    for field, value in canned_in.model_dump(exclude_unset=True).items():
        setattr(canned, field, value)
    canned.updated_at = utc_now()
    session.add(canned)
    return canned


@canned_router.delete("/{canned_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_canned_reply(session: SessionDep, user: CurrentUserDep, canned_id: RowId) -> None:
    """Remove a canned reply from the library (replies already sent keep their text)."""
    session.delete(_canned_or_404(session, canned_id))


def _check_service(session: Session, service_id: int | None) -> None:
    """A canned reply of a service that exists, or of every service."""
    if service_id is not None and session.get(Service, service_id) is None:
        raise CaseInputError(f"Aucun service n° {service_id}.")


def _canned_or_404(session: SessionDep, canned_id: int) -> CannedReply:
    canned = session.get(CannedReply, canned_id)
    if canned is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"Aucune réponse type n° {canned_id}."
        )
    return canned


def case_error_handler(_request: Request, error: Exception) -> JSONResponse:
    """A refusal of the case service as its HTTP answer, with its French message.

    Registered for each class of CASE_ERRORS; a transition refused also says what is allowed.
    """
    content: dict[str, Any] = {"detail": str(error)}
    if isinstance(error, TransitionNotAllowedError):
        content["allowed"] = error.allowed
    return JSONResponse(status_code=CASE_ERRORS[type(error)], content=content)


def _changed(session: Session, case: Case, *, settings: Settings, response: Response) -> CasePublic:
    """The case after a change, with its new ETag."""
    response.headers["ETag"] = _etag(case)
    return public_case(session, case, settings=settings)


def _etag(case: Case) -> str:
    return f'"{case.version}"'
