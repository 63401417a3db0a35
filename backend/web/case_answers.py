"""Answering from a case's page: a reply by e-mail (canned replies), a standard letter (form built
from the template's variables, preview, PDF, send)."""

import base64
import mimetypes
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from sqlmodel import Session
from starlette.datastructures import FormData

from backend.cases.replies import (
    canned_reply_values,
    case_canned_reply,
    render_canned_reply,
    reply_by_email,
)
from backend.cases.repository import canned_replies, case_letters, case_outbox
from backend.cases.router import CASE_ERRORS
from backend.cases.service import (
    CaseInputError,
    StaleCaseError,
    check_version,
)
from backend.cases.workflow import (
    ALLOWED_FROM,
    OPERATION_LABELS,
    STATUS_LABELS,
    Operation,
    allowed_operations,
)
from backend.config import Settings
from backend.letters.appointments import GivenSlot, NoFreeSlotError, appointment_values
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import TemplateRenderError
from backend.letters.router import LETTER_ERRORS
from backend.letters.service import letter_allowed, prepare_letter, preview_slot, send_letter
from backend.letters.templates import (
    LetterChannel,
    LetterEffect,
    LetterTemplate,
    LetterTemplateError,
    VariableType,
    letter_template,
    letter_templates,
)
from backend.models import (
    CannedReply,
    Case,
    CaseStatus,
    Letter,
    LetterDelivery,
    OutboxPurpose,
    Service,
)
from backend.web.dependencies import CaseRequest, CaseRequestDep
from backend.web.forms import row_id
from backend.web.templating import render

router = APIRouter(include_in_schema=False)

# Every refusal of the services an answer can meet, and its HTTP status. A case changed by
# someone else is a conflict, as on the case's page: a form sends no If-Match header (the
# API's 412 answers one).
ANSWER_ERRORS: dict[type[Exception], int] = {
    **CASE_ERRORS,
    **LETTER_ERRORS,
    StaleCaseError: status.HTTP_409_CONFLICT,
}
# What was sent, named in the URL the page goes back to, so that it says so.
SENT_KINDS = ("courriel", "lettre")
# A canned reply's variable left in the text, which the case could not fill.
PLACEHOLDER = re.compile(r"{{\s*([^{}]*?)\s*}}")
# The preview frame: the letter's own <style>, nothing else, no script, no form, no link out.
PREVIEW_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox",
    )
)
# The page margins of the letter, which a browser does not apply to a screen.
SCREEN_STYLE = "@media screen { body { position: relative; margin: 15mm 15mm 24mm 20mm; } }"
# The appointment variables a letter takes from the service's next free slot.
APPOINTMENT_VARIABLES = ("appointment_date", "appointment_time", "appointment_place")
EFFECT_RESULTS = {
    LetterEffect.ANSWER: "le dossier est répondu",
    LetterEffect.REQUEST_DOCUMENTS: "le dossier attend les pièces du demandeur",
    LetterEffect.ACKNOWLEDGE: "l'accusé de réception est enregistré",
}
# Field name prefixes of the letter form: the variables, and the extra lines of a list.
VARIABLE_FIELD = "variable_"
OTHER_LINES_SUFFIX = "__autres"


async def posted_form(request: Request) -> FormData:
    """The posted form (already read by the CSRF check); empty for another body."""
    return await request.form()


PostedFormDep = Annotated[FormData, Depends(posted_form)]


@dataclass(frozen=True, slots=True)
class LetterForm:
    """What the letter form posts: the template, the agent's values and how to send it."""

    template: LetterTemplate
    values: dict[str, object]
    version: int | None
    channel: str
    take_next_slot: bool


# Pages and fragments


@router.get("/dossiers/{case_id}/reponse", response_class=HTMLResponse)
def answer_page(on: CaseRequestDep, envoi: str = "") -> Response:
    """The answer tools: by e-mail, by standard letter; a fragment for htmx, else a page."""
    just_sent = _just_sent(on.request) if on.is_htmx else envoi
    context = {
        **_answer_context(on.session, case=on.case, settings=on.settings),
        "sent_message": _sent_message(
            on.session, case=on.case, what=just_sent, settings=on.settings
        ),
    }
    if on.is_htmx:
        return _render(on, "case/answer_section.html", context | {"level": 3})
    return _render(on, "case/answer.html", context | {"level": 2})


@router.get("/dossiers/{case_id}/reponse/modele", response_class=HTMLResponse)
def canned_reply_text(on: CaseRequestDep, reponse_type: str = "") -> Response:
    """The reply text field, filled with a canned reply rendered with the case's values."""
    text, error = "", None
    if reponse_type.strip():
        canned = _canned_reply(on.session, case=on.case, canned_id=reponse_type)
        if canned is None:
            error = "Cette réponse type n'existe pas ou ne concerne pas ce dossier."
        else:
            text, error = _rendered_canned(on, canned=canned)
            text = text or canned.body
    return _render(on, "case/answer_text.html", {"case": on.case, "text": text, "error": error})


@router.post("/dossiers/{case_id}/reponse/courriel", response_class=HTMLResponse)
def send_email_reply(
    on: CaseRequestDep,
    version: Annotated[int, Form(ge=1)],
    texte: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """Send the agent's reply in the citizen's thread; the case is answered."""
    try:
        with on.session.begin_nested():
            check_version(on.case, expected_version=version)
            _refuse_placeholders(texte)
            reply_by_email(
                on.session,
                case=on.case,
                text=texte,
                canned_reply_id=None,
                variables={},
                actor=on.actor,
                settings=on.settings,
            )
    except tuple(ANSWER_ERRORS) as error:
        return _refused(on, error=error)
    return _sent(on, what="courriel")


@router.get("/dossiers/{case_id}/reponse/lettre", response_class=HTMLResponse)
def letter_form(on: CaseRequestDep, modele: str = "") -> Response:
    """The form of a standard letter, one field per variable the agent fills in."""
    context: dict[str, Any] = {"case": on.case, "template": None, "error": None}
    if modele.strip():
        try:
            template = letter_template(on.settings, modele.strip())
        except LetterTemplateError as error:
            context["error"] = str(error)
        else:
            context |= _letter_form_context(
                on.session, case=on.case, template=template, settings=on.settings
            )
    template_name = "case/letter_form.html" if on.is_htmx else "case/letter_page.html"
    return _render(on, template_name, context)


@router.post("/dossiers/{case_id}/reponse/lettre/apercu", response_class=HTMLResponse)
def letter_preview(on: CaseRequestDep, form: PostedFormDep) -> Response:
    """The printed page of the letter, for the preview frame, under a policy of its own."""
    try:
        document = _document(on, form=form)
    except tuple(ANSWER_ERRORS) as error:
        return _frame_error(error)
    return _preview_document(_on_screen(_with_inline_logo(document, settings=on.settings)))


@router.post("/dossiers/{case_id}/reponse/lettre/pdf", response_class=Response)
def letter_pdf_download(on: CaseRequestDep, form: PostedFormDep) -> Response:
    """The letter as a PDF to download, to check or print; nothing is recorded."""
    try:
        pdf = letter_pdf(_document(on, form=form))
    except tuple(ANSWER_ERRORS) as error:
        # A download the browser asked for in the page: the refusal is a page, in French.
        raise HTTPException(ANSWER_ERRORS[type(error)], detail=str(error)) from error
    name = str(form.get("modele") or "lettre")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{on.case.reference}-{name}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/dossiers/{case_id}/reponse/lettre/envoyer", response_class=HTMLResponse)
def letter_send(on: CaseRequestDep, form: PostedFormDep) -> Response:
    """Send the letter by e-mail or record it as posted; its effect on the case follows."""
    try:
        with on.session.begin_nested():
            posted = _letter_form_values(form, settings=on.settings)
            check_version(on.case, expected_version=posted.version or 0)
            send_letter(
                on.session,
                case=on.case,
                template_name=posted.template.name,
                values=posted.values,
                channel=_channel(posted.channel),
                actor=on.actor,
                settings=on.settings,
                take_next_slot=posted.take_next_slot,
            )
    except tuple(ANSWER_ERRORS) as error:
        return _refused(on, error=error)
    return _sent(on, what="lettre")


# What the pages show


def _answer_context(session: Session, *, case: Case, settings: Settings) -> dict[str, Any]:
    """The case, whether it may be answered (and why not), the canned replies and letters."""
    service = session.get(Service, case.service_id) if case.service_id else None
    templates = [
        template
        for template in letter_templates(settings)
        if letter_allowed(template, status=case.status)
    ]
    suited = [template for template in templates if case.kind.value in template.kinds]
    return {
        "case": case,
        "service": service,
        "can_reply": case.status in ALLOWED_FROM[Operation.REPLY],
        "refusal": _refusal(case.status),
        "canned_replies": canned_replies(session, service_id=case.service_id),
        "suited_templates": suited,
        "other_templates": [template for template in templates if template not in suited],
    }


def _refusal(case_status: CaseStatus) -> str:
    """Why a case in this status cannot be answered, and what can be done instead."""
    allowed = [OPERATION_LABELS[operation] for operation in allowed_operations(case_status)]
    return (
        f"Ce dossier est « {STATUS_LABELS[case_status]} » : on ne peut plus y répondre. "
        f"Opérations possibles : {', '.join(allowed) or 'aucune'}."
    )


def _letter_form_context(
    session: Session, *, case: Case, template: LetterTemplate, settings: Settings
) -> dict[str, Any]:
    """The template, its fields prefilled (defaults, the next free appointment), the channels."""
    slot = _next_slot(session, case=case, template=template)
    prefilled = appointment_values(slot, settings=settings) if slot else {}
    fields = [
        {
            "name": name,
            "spec": spec,
            "value": prefilled.get(name, spec.default),
            "options": list(getattr(settings, f"{spec.catalogue}_catalogue", []))
            if spec.catalogue
            else [],
        }
        for name, spec in template.asked.items()
    ]
    return {
        "template": template,
        "fields": fields,
        "slot": slot,
        "slot_values": prefilled,
        "channels": template.channels,
        "effect_result": EFFECT_RESULTS.get(template.effect) if template.effect else None,
    }


def _next_slot(session: Session, *, case: Case, template: LetterTemplate) -> GivenSlot | None:
    """The slot the letter would give, for a letter with an appointment; None when none is free."""
    if not set(APPOINTMENT_VARIABLES) <= set(template.asked):
        return None
    try:
        return preview_slot(session, case=case)
    except NoFreeSlotError:
        return None


def _sent_message(session: Session, *, case: Case, what: str, settings: Settings) -> str | None:
    """What was just sent on the case, said from what the database records."""
    assert case.id is not None
    if what == "courriel":
        replies = [
            email
            for email in case_outbox(session, case_id=case.id)
            if email.purpose is OutboxPurpose.REPLY
        ]
        if replies:
            return f"Réponse envoyée à {replies[-1].recipient} : le dossier est répondu."
    elif what == "lettre":
        letters = case_letters(session, case_id=case.id)
        if letters:
            return _letter_message(session, letter=letters[-1], case=case, settings=settings)
    return None


def _letter_message(session: Session, *, letter: Letter, case: Case, settings: Settings) -> str:
    """What became of the letter just sent, and of the case."""
    assert case.id is not None
    try:
        template = letter_template(settings, letter.template_name)
        title, effect = template.title, template.effect
    except LetterTemplateError:
        title, effect = letter.template_name, None
    if letter.delivery is LetterDelivery.EMAIL:
        emails = {email.id: email for email in case_outbox(session, case_id=case.id)}
        email = emails.get(letter.outbox_email_id)
        sent = f"envoyée par courriel à {email.recipient}" if email else "envoyée par courriel"
    else:
        sent = "enregistrée comme envoyée par la poste : imprimez-la depuis le PDF"
    result = f" ; {EFFECT_RESULTS[effect]}" if effect else ""
    return f"Lettre « {title} » {sent}{result}."


# Reading what is posted


def _letter_form_values(form: FormData, *, settings: Settings) -> LetterForm:
    """The template and the agent's values of the posted letter form, as the service reads them."""
    template = letter_template(settings, str(form.get("modele") or "").strip())
    values: dict[str, object] = {}
    for name, spec in template.asked.items():
        field = VARIABLE_FIELD + name
        if spec.type is VariableType.LIST:
            values[name] = _lines(form, field=field)
        elif spec.type is VariableType.BOOL:
            values[name] = "oui" if form.get(field) else "non"
        else:
            values[name] = str(form.get(field) or "")
    take_next_slot = form.get("creneau") == "oui"
    if take_next_slot:
        # The slot gives them: the fields only showed it.
        values = {
            name: value for name, value in values.items() if name not in APPOINTMENT_VARIABLES
        }
    version = str(form.get("version") or "")
    return LetterForm(
        template=template,
        values=values,
        version=int(version) if version.isdigit() else None,
        channel=str(form.get("canal") or ""),
        take_next_slot=take_next_slot,
    )


def _lines(form: FormData, *, field: str) -> list[str]:
    """A list variable: the catalogue entries ticked, then the lines typed."""
    ticked = [str(value).strip() for value in form.getlist(field)]
    typed = str(form.get(field + OTHER_LINES_SUFFIX) or "").splitlines()
    lines = [line.strip() for line in [*ticked, *typed] if line.strip()]
    return list(dict.fromkeys(lines))


def _channel(value: str) -> LetterChannel:
    """The channel chosen in the form."""
    try:
        return LetterChannel(value)
    except ValueError as error:
        raise LetterTemplateError(
            "Choisissez comment envoyer la lettre : par courriel ou par la poste."
        ) from error


def _canned_reply(session: Session, *, case: Case, canned_id: str) -> CannedReply | None:
    """The canned reply chosen, if it is one of the case's service (or of every service)."""
    canned_reply_id = row_id(canned_id.strip())
    if canned_reply_id is None:
        return None
    return case_canned_reply(session, case=case, canned_reply_id=canned_reply_id)


def _rendered_canned(on: CaseRequest, *, canned: CannedReply) -> tuple[str, str | None]:
    """The canned reply with the case's values; or nothing and why, in French."""
    case = on.case
    service = on.session.get(Service, case.service_id) if case.service_id else None
    context = canned_reply_values(case, actor=on.actor, service=service, variables={})
    try:
        text = render_canned_reply(canned, context=context, settings=on.settings)
    except TemplateRenderError as error:
        return "", f"{error} Remplacez-la dans le texte avant d'envoyer."
    return text, None


def _refuse_placeholders(text: str) -> None:
    """A variable of a canned reply left in the text would reach the citizen as is."""
    found = PLACEHOLDER.search(text)
    if found:
        raise CaseInputError(
            f"Le texte contient encore la variable « {found.group(1)} » d'une réponse type : "
            "remplacez-la par sa valeur avant d'envoyer."
        )


# Answers


def _render(on: CaseRequest, template: str, context: dict[str, Any]) -> Response:
    """The page or fragment, for the signed-in user."""
    return render(on.request, template, page_user=on.page, context=context)


def _just_sent(request: Request) -> str:
    """The token of what was just sent, from the address of the page that loads the fragment."""
    query = parse_qs(urlsplit(request.headers.get("HX-Current-URL", "")).query)
    what = (query.get("envoi") or [""])[0]
    return what if what in SENT_KINDS else ""


def _sent(on: CaseRequest, *, what: str) -> Response:
    """Back to the page the answer was written on, which now says what was sent."""
    answer_path = f"/dossiers/{on.case.id}/reponse"
    current = urlsplit(on.request.headers.get("HX-Current-URL", "")).path
    target = answer_path if current.startswith(answer_path) else f"/dossiers/{on.case.id}"
    url = f"{target}?envoi={what}"
    if on.is_htmx:
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": url})
    return RedirectResponse(f"{answer_path}?envoi={what}", status_code=status.HTTP_303_SEE_OTHER)


def _refused(on: CaseRequest, *, error: Exception) -> Response:
    """The service's refusal, in French: an alert for htmx, the answer page otherwise."""
    status_code = ANSWER_ERRORS[type(error)]
    if on.is_htmx:
        return render(
            on.request,
            "case/answer_error.html",
            page_user=on.page,
            context={"message": str(error)},
            status_code=status_code,
        )
    context = _answer_context(on.session, case=on.case, settings=on.settings)
    return render(
        on.request,
        "case/answer.html",
        page_user=on.page,
        context=context | {"level": 2, "message": str(error), "message_kind": "error"},
        status_code=status_code,
    )


def _document(on: CaseRequest, *, form: FormData) -> str:
    """The letter's printed page as the form fills it; the next free slot shown, not given."""
    posted = _letter_form_values(form, settings=on.settings)
    prepared = prepare_letter(
        on.session,
        case=on.case,
        template_name=posted.template.name,
        values=posted.values,
        actor=on.actor,
        settings=on.settings,
        appointment=preview_slot(on.session, case=on.case) if posted.take_next_slot else None,
    )
    return prepared.rendered.document


def _frame_error(error: Exception) -> HTMLResponse:
    """Why the letter cannot be shown or printed, in the preview frame."""
    return _preview_document(_error_document(str(error)), status_code=ANSWER_ERRORS[type(error)])


def _preview_document(document: str, *, status_code: int = status.HTTP_200_OK) -> HTMLResponse:
    """A letter's page (or an error) for the sandboxed preview frame."""
    return HTMLResponse(
        document,
        status_code=status_code,
        headers={"Content-Security-Policy": PREVIEW_POLICY, "Cache-Control": "no-store"},
    )


def _error_document(message: str) -> str:
    """A short page saying why the letter cannot be shown, in the preview frame."""
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        "<title>Aperçu impossible</title><style>body{font-family:sans-serif;margin:1rem;"
        "color:#ce0500}</style></head><body><p><strong>Aperçu impossible.</strong> "
        f"{escape(message)}</p></body></html>"
    )


def _on_screen(document: str) -> str:
    """The printed page with margins on screen too (a browser ignores the letter's @page)."""
    return document.replace("</head>", f"<style>{SCREEN_STYLE}</style></head>", 1)


def _with_inline_logo(document: str, *, settings: Settings) -> str:
    """The préfecture's logo as a data: URL: the browser does not open file: URLs."""
    logo = settings.prefecture.logo_path
    if logo is None or not logo.is_file():
        return document
    media_type = mimetypes.guess_type(logo.name)[0] or "image/png"
    data = base64.b64encode(logo.read_bytes()).decode("ascii")
    return document.replace(logo.resolve().as_uri(), f"data:{media_type};base64,{data}")
