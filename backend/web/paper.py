"""Registering paper mail and suggestion-box slips: the form, and the case reference to write
on the envelope."""

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, func, select

from backend.cases import service as cases
from backend.cases.router import DEFAULT_PAPER_KIND
from backend.cases.service import (
    MAX_SCAN_BYTES,
    CaseForbiddenError,
    CaseInputError,
    PaperMail,
)
from backend.cases.workflow import TransitionNotAllowedError
from backend.config import Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.models import Attachment, Case, CaseChannel, CaseKind, Message, Service
from backend.validation import FIRST_DAY
from backend.web.dependencies import PageCaseDep, PageUserDep
from backend.web.forms import INVALID_EMAIL, email_address
from backend.web.labels import KIND_LABELS
from backend.web.templating import PageUser, render

router = APIRouter(include_in_schema=False)
FORM_PATH = "/courriers/nouveau"
PAPER_CHANNELS = (CaseChannel.PAPER, CaseChannel.SUGGESTION_BOX)
# The limits of the API's PaperMailCreate and of the cases table.
MAX_SENDER_NAME = 320
MAX_SUBJECT = 1000
MAX_ADDRESS = 2000
# Field names as the form's error summary names them.
FIELD_LABELS = {
    "channel": "Canal de réception",
    "received_on": "Date de réception",
    "kind": "Nature",
    "sender_name": "Expéditeur",
    "sender_email": "Adresse électronique",
    "sender_postal_address": "Adresse postale",
    "subject": "Objet",
    "service_id": "Service",
    "scan": "Courrier numérisé",
}


@dataclass
class PaperForm:
    """What the agent typed, as text, to fill the form in again when it is refused."""

    channel: str = CaseChannel.PAPER.value
    received_on: str = ""
    kind: str = ""
    sender_name: str = ""
    sender_email: str = ""
    sender_postal_address: str = ""
    subject: str = ""
    service_id: str = ""


@dataclass
class CheckedPaper:
    """The form once checked: the letter to register, its service and scan, or the errors."""

    paper: PaperMail | None = None
    service_id: int | None = None
    scan: bytes | None = None
    errors: dict[str, str] = field(default_factory=dict)


@router.get(FORM_PATH, response_class=HTMLResponse)
def paper_form(
    request: Request, session: SessionDep, settings: SettingsDep, page: PageUserDep
) -> Response:
    """An empty form: received today, a letter, the agent's service if they have only one."""
    services = _services_of(session, page=page)
    form = PaperForm(
        received_on=settings.today().isoformat(),
        service_id=str(services[0].id) if len(services) == 1 else "",
    )
    return _form_page(request, page=page, settings=settings, form=form, services=services)


@router.post(FORM_PATH, response_class=HTMLResponse)
def register_paper(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    page: PageUserDep,
    channel: Annotated[str, Form()] = "",
    received_on: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    sender_name: Annotated[str, Form()] = "",
    sender_email: Annotated[str, Form()] = "",
    sender_postal_address: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    service_id: Annotated[str, Form()] = "",
    scan: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Register the letter (its scan attached); the reference to write on it, or the errors."""
    form = PaperForm(
        channel=channel,
        received_on=received_on,
        kind=kind,
        sender_name=sender_name,
        sender_email=sender_email,
        sender_postal_address=sender_postal_address,
        subject=subject,
        service_id=service_id,
    )
    services = _services_of(session, page=page)
    checked = _check(form, scan=scan, services=services, settings=settings)
    if checked.paper is None:
        return _form_page(
            request, page=page, settings=settings, form=form, services=services, checked=checked
        )
    try:
        case = _register(session, checked=checked, page=page, settings=settings)
    except (CaseInputError, CaseForbiddenError, TransitionNotAllowedError) as error:
        # Nothing half-done is kept: the request would otherwise commit the case alone.
        session.rollback()
        checked.errors = {"formulaire": str(error)}
        return _form_page(
            request, page=page, settings=settings, form=form, services=services, checked=checked
        )
    if _sees(page, case):
        return RedirectResponse(
            f"/courriers/{case.id}/enregistre", status_code=status.HTTP_303_SEE_OTHER
        )
    # Registered for a service the agent is not in: they may not open it, but get its reference.
    return _registered_page(request, session, page=page, case=case)


@router.get("/courriers/{case_id}/enregistre", response_class=HTMLResponse)
def registered(
    request: Request, session: SessionDep, page: PageUserDep, case: PageCaseDep
) -> Response:
    """The reference of a registered letter, to write on it, and where to go next."""
    if case.channel not in PAPER_CHANNELS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"Le dossier {case.reference} n'est pas un courrier."
        )
    return _registered_page(request, session, page=page, case=case)


def _check(
    form: PaperForm, *, scan: UploadFile | None, services: list[Service], settings: Settings
) -> CheckedPaper:
    """Each field checked; the errors by field, in French."""
    checked = CheckedPaper()
    errors = checked.errors
    channel = _channel(form.channel, errors=errors)
    received = _received_on(form.received_on, errors=errors, today=settings.today())
    kind = _kind(form.kind, errors=errors)
    sender_name = _text(form.sender_name, name="sender_name", limit=MAX_SENDER_NAME, errors=errors)
    subject = _text(form.subject, name="subject", limit=MAX_SUBJECT, errors=errors)
    email = _email(form.sender_email, errors=errors)
    # The browser sends CRLF between a textarea's lines; letters print "\n"-separated lines.
    address = "\n".join(line.strip() for line in form.sender_postal_address.strip().splitlines())
    if len(address) > MAX_ADDRESS:
        errors["sender_postal_address"] = f"Adresse trop longue : au plus {MAX_ADDRESS} caractères."
    checked.service_id = _service_id(form.service_id, services=services, errors=errors)
    checked.scan = _scan(scan, errors=errors)
    if "\x00" in "".join(asdict(form).values()):
        errors["formulaire"] = "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."
    if errors or channel is None or received is None:
        return checked
    checked.paper = PaperMail(
        channel=channel,
        received_on=received,
        sender_name=sender_name,
        sender_postal_address=address or None,
        sender_email=email,
        subject=subject,
        kind=kind or DEFAULT_PAPER_KIND[channel],
    )
    return checked


def _channel(value: str, *, errors: dict[str, str]) -> CaseChannel | None:
    if value in {channel.value for channel in PAPER_CHANNELS}:
        return CaseChannel(value)
    errors["channel"] = "Choisissez « Courrier » ou « Boîte à suggestions »."
    return None


def _received_on(value: str, *, errors: dict[str, str], today: date) -> date | None:
    """The day of receipt: a real day, not before 1900, never after today."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        errors["received_on"] = "Indiquez la date de réception, au format JJ/MM/AAAA."
        return None
    if day > today:
        errors["received_on"] = (
            f"La date de réception ({day:%d/%m/%Y}) ne peut pas être postérieure à "
            f"aujourd'hui ({today:%d/%m/%Y})."
        )
        return None
    if day < FIRST_DAY:
        errors["received_on"] = (
            f"La date de réception ne peut pas précéder le {FIRST_DAY:%d/%m/%Y}."
        )
        return None
    return day


def _kind(value: str, *, errors: dict[str, str]) -> CaseKind | None:
    if not value:
        return None
    try:
        return CaseKind(value)
    except ValueError:
        errors["kind"] = "Choisissez une nature dans la liste."
        return None


def _text(value: str, *, name: str, limit: int, errors: dict[str, str]) -> str:
    text = value.strip()
    if not text:
        errors[name] = f"Indiquez {'l’expéditeur' if name == 'sender_name' else 'l’objet'}."
    elif len(text) > limit:
        errors[name] = f"Texte trop long : au plus {limit} caractères."
    return text


def _email(value: str, *, errors: dict[str, str]) -> str | None:
    text = value.strip()
    if not text:
        return None
    address = email_address(text)
    if address is None:
        errors["sender_email"] = INVALID_EMAIL
    return address


def _service_id(value: str, *, services: list[Service], errors: dict[str, str]) -> int | None:
    """None (to sort later), or one of the agent's services."""
    if not value:
        return None
    allowed = {str(service.id): service.id for service in services}
    if value not in allowed:
        errors["service_id"] = "Choisissez l'un de vos services."
        return None
    return allowed[value]


def _scan(upload: UploadFile | None, *, errors: dict[str, str]) -> bytes | None:
    """The PDF's bytes, read no further than the size allowed; None without a file."""
    if upload is None or not upload.filename:
        return None
    pdf = upload.file.read(MAX_SCAN_BYTES + 1)
    if not pdf:
        return None
    try:
        cases.check_scan(pdf)
    except CaseInputError as error:
        errors["scan"] = str(error)
        return None
    return pdf


def _register(
    session: Session, *, checked: CheckedPaper, page: PageUser, settings: Settings
) -> Case:
    """The case, given to the chosen service, with its scan."""
    assert checked.paper is not None
    case = cases.register_paper(session, paper=checked.paper, actor=page.user, settings=settings)
    if checked.service_id is not None:
        cases.assign(
            session, case=case, service_id=checked.service_id, assignee_id=None, actor=page.user
        )
    if checked.scan is not None:
        cases.attach_scan(session, case=case, pdf=checked.scan, actor=page.user, settings=settings)
    session.flush()
    return case


def _sees(page: PageUser, case: Case) -> bool:
    """Whether the user may open the case they just registered."""
    if case.service_id is None:
        return page.viewer.sees_unowned
    return case.service_id in page.viewer.service_ids


def _services_of(session: Session, *, page: PageUser) -> list[Service]:
    """The user's services, by name: a letter is registered for one of them."""
    if not page.viewer.service_ids:
        return []
    return list(
        session.exec(
            select(Service)
            .where(col(Service.id).in_(sorted(page.viewer.service_ids)))
            .order_by(col(Service.name))
        ).all()
    )


def _form_page(
    request: Request,
    *,
    page: PageUser,
    settings: Settings,
    form: PaperForm,
    services: list[Service],
    checked: CheckedPaper | None = None,
) -> Response:
    errors = checked.errors if checked else {}
    return render(
        request,
        "paper/new.html",
        page_user=page,
        context={
            "form": form,
            "errors": errors,
            "field_labels": FIELD_LABELS,
            "services": [(service.id, service.name) for service in services],
            "today": settings.today().isoformat(),
            "kinds": [(kind.value, label) for kind, label in KIND_LABELS.items()],
            "max_scan_mb": MAX_SCAN_BYTES // 1_000_000,
        },
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK,
    )


def _registered_page(request: Request, session: Session, *, page: PageUser, case: Case) -> Response:
    scans = session.exec(
        select(func.count(col(Attachment.id)))
        .join(Message, col(Message.id) == col(Attachment.message_id))
        .where(col(Message.case_id) == case.id)
    ).one()
    service = session.get(Service, case.service_id) if case.service_id else None
    return render(
        request,
        "paper/registered.html",
        page_user=page,
        context={
            "case": case,
            "service": service,
            "scans": scans,
            "can_open": _sees(page, case),
        },
    )
