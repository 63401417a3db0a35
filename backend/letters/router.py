"""/api/v1/letter-templates and /api/v1/cases/{id}/letters: pick, preview, print, send."""

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session, col, select

from backend.audit.service import record
from backend.cases.dependencies import CaseForChangeDep, VisibleCaseDep
from backend.cases.router import DOWNLOAD_HEADERS
from backend.cases.schemas import LetterPublic
from backend.cases.service import CaseNotFoundError
from backend.config import Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.letters.appointments import NoFreeSlotError
from backend.letters.pdf import PdfUnavailableError, letter_pdf
from backend.letters.rendering import TemplateRenderError
from backend.letters.schemas import (
    AppointmentSlotPublic,
    AppointmentSlotsCreate,
    LetterRequest,
    LetterSend,
    LetterTemplatePublic,
)
from backend.letters.service import PreparedLetter, prepare_letter, preview_slot, send_letter
from backend.letters.templates import LetterTemplateError, letter_template, letter_templates
from backend.models import AppointmentSlot, Case, Letter, Service, User
from backend.models.types import utc_now
from backend.storage.filestore import FileStore
from backend.users.dependencies import CurrentUserDep
from backend.validation import RowId

templates_router = APIRouter(prefix="/letter-templates", tags=["lettres types"])
letters_router = APIRouter(prefix="/cases/{case_id}/letters", tags=["lettres types"])
LETTER_ERRORS: dict[type[Exception], int] = {
    NoFreeSlotError: status.HTTP_409_CONFLICT,
    LetterTemplateError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    TemplateRenderError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    PdfUnavailableError: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def letter_error_handler(_request: Request, error: Exception) -> JSONResponse:
    """A template the request got wrong (or a PDF that cannot be made), in French."""
    return JSONResponse(status_code=LETTER_ERRORS[type(error)], content={"detail": str(error)})


@templates_router.get("", response_model=list[LetterTemplatePublic])
def list_letter_templates(
    settings: SettingsDep, user: CurrentUserDep
) -> list[LetterTemplatePublic]:
    """The standard letters, with the variables to fill in."""
    return [
        LetterTemplatePublic.from_template(template, settings=settings)
        for template in letter_templates(settings)
    ]


@templates_router.get("/{name}", response_model=LetterTemplatePublic)
def read_letter_template(
    name: str, settings: SettingsDep, user: CurrentUserDep
) -> LetterTemplatePublic:
    """One standard letter."""
    return LetterTemplatePublic.from_template(letter_template(settings, name), settings=settings)


@letters_router.post("/preview", response_class=HTMLResponse)
def preview_letter(
    case: VisibleCaseDep,
    request: LetterRequest,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
) -> HTMLResponse:
    """The letter as its printed page, in HTML."""
    prepared = _prepared(session, case=case, request=request, actor=user, settings=settings)
    return HTMLResponse(prepared.rendered.document)


@letters_router.post(
    "/pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def render_letter_pdf(
    case: VisibleCaseDep,
    request: LetterRequest,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
) -> Response:
    """The letter as PDF, to check or print; nothing is recorded."""
    prepared = _prepared(session, case=case, request=request, actor=user, settings=settings)
    return Response(
        letter_pdf(prepared.rendered.document),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{case.reference}-{request.template}.pdf"'
        },
    )


@letters_router.post("", response_model=LetterPublic, status_code=status.HTTP_201_CREATED)
def send_case_letter(
    request: LetterSend,
    case: CaseForChangeDep,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    response: Response,
) -> LetterPublic:
    """Send the letter by e-mail (PDF attached), or record it as posted; its effect follows."""
    letter = send_letter(
        session,
        case=case,
        template_name=request.template,
        values=request.values,
        channel=request.channel,
        actor=user,
        settings=settings,
        posted_on=request.posted_on,
        take_next_slot=request.take_next_slot,
    )
    response.headers["ETag"] = f'"{case.version}"'
    return LetterPublic.model_validate(letter)


@letters_router.get("/{letter_id}/pdf", response_class=Response)
def download_letter(
    case: VisibleCaseDep,
    letter_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
) -> Response:
    """The PDF of a letter sent or posted, as recorded; the download is traced."""
    letter = session.get(Letter, letter_id)
    if letter is None or letter.case_id != case.id or letter.pdf_sha256 is None:
        raise CaseNotFoundError(f"Aucune lettre n° {letter_id} sur ce dossier.")
    record(
        session,
        action="letter.downloaded",
        actor=user,
        case_id=case.id,
        object_type="letter",
        object_id=letter.id,
    )
    pdf = FileStore(settings.file_store_dir).read_bytes(letter.pdf_sha256)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            **DOWNLOAD_HEADERS,
            "Content-Disposition": f'attachment; filename="lettre-{letter_id}.pdf"',
        },
    )


slots_router = APIRouter(prefix="/appointment-slots", tags=["lettres types"])


@slots_router.post("", response_model=list[AppointmentSlotPublic], status_code=201)
def open_slots(
    request: AppointmentSlotsCreate, session: SessionDep, user: CurrentUserDep
) -> list[AppointmentSlotPublic]:
    """Open appointment slots for a service; a slot already open is not opened twice."""
    if session.get(Service, request.service_id) is None:
        raise LetterTemplateError(f"Aucun service n° {request.service_id}.")
    existing = set(
        session.exec(
            select(AppointmentSlot.starts_at).where(
                col(AppointmentSlot.service_id) == request.service_id
            )
        ).all()
    )
    slots = [
        AppointmentSlot(service_id=request.service_id, starts_at=moment, place=request.place)
        for moment in sorted(set(request.starts_at))
        if moment not in existing
    ]
    session.add_all(slots)
    session.flush()
    return [AppointmentSlotPublic.model_validate(slot) for slot in slots]


@slots_router.get("", response_model=list[AppointmentSlotPublic])
def list_slots(
    service_id: RowId, session: SessionDep, user: CurrentUserDep, free: bool = True
) -> list[AppointmentSlotPublic]:
    """A service's slots to come, the free ones only unless asked."""
    query = (
        select(AppointmentSlot)
        .where(col(AppointmentSlot.service_id) == service_id)
        .where(col(AppointmentSlot.starts_at) > utc_now())
        .order_by(col(AppointmentSlot.starts_at))
    )
    if free:
        query = query.where(col(AppointmentSlot.case_id).is_(None))
    return [AppointmentSlotPublic.model_validate(slot) for slot in session.exec(query)]


def _prepared(
    session: Session, *, case: Case, request: LetterRequest, actor: User, settings: Settings
) -> PreparedLetter:
    """The letter as it would be sent; with the next free slot shown, not given."""
    return prepare_letter(
        session,
        case=case,
        template_name=request.template,
        values=request.values,
        actor=actor,
        settings=settings,
        appointment=preview_slot(session, case=case) if request.take_next_slot else None,
    )
