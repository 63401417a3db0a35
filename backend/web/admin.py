"""Administration: mailboxes, accounts and services, letter templates, the outbox.

Administrators only. The routes name what they act on in the form or the query string, not the
path: no path parameter, so none can be mistaken for a case's (see test_visibility).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, func, select

from backend.audit.service import record
from backend.cases.repository import canned_replies
from backend.config import Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.letters.context import letter_context
from backend.letters.rendering import RenderedLetter, TemplateRenderError, render_letter
from backend.letters.templates import (
    LetterTemplate,
    LetterTemplateError,
    VariableSpec,
    VariableType,
    agent_values,
    letter_template,
    letter_templates,
)
from backend.mailboxes.imap import MailboxConnectionError
from backend.mailboxes.schemas import SLUG_PATTERN, MailboxUpdate
from backend.mailboxes.service import (
    MailboxError,
    MailboxNotFoundError,
    diagnose_mailbox,
    get_mailbox,
    list_mailboxes,
    update_mailbox_audited,
)
from backend.models import (
    Case,
    CaseChannel,
    CaseKind,
    Mailbox,
    MailboxKind,
    OutboxEmail,
    OutboxStatus,
    Service,
    ServiceMembership,
    User,
    UserRole,
)
from backend.outbox.labels import OUTBOX_PURPOSE_LABELS
from backend.outbox.labels import OUTBOX_STATUS_LABELS as OUTBOX_STATUS_WORDS
from backend.outbox.service import requeue_email
from backend.users.passwords import MIN_PASSWORD_LENGTH
from backend.users.schemas import UserCreate, UserUpdate
from backend.users.service import (
    UserInputError,
    create_service,
    create_user,
    service_ids_of,
    set_password,
    update_user,
)
from backend.web.dependencies import AdminPageDep
from backend.web.forms import INVALID_EMAIL, email_address, row_id
from backend.web.templating import PageUser, render

router = APIRouter(prefix="/administration", include_in_schema=False)
MENU = (
    ("Boîtes aux lettres", "/administration/boites"),
    ("Comptes", "/administration/utilisateurs"),
    ("Services", "/administration/services"),
    ("Modèles de lettres", "/administration/modeles"),
    ("File d'envoi", "/administration/envois"),
)
# What a change just did, shown once on the page it returns to (?avis=...).
NOTICES = {
    "boite-activee": "La boîte aux lettres est activée : elle sera relevée au prochain passage.",
    "boite-desactivee": "La boîte aux lettres est désactivée : elle ne sera plus relevée.",
    "compte-cree": "Le compte a été créé.",
    "compte-modifie": "Le compte a été modifié.",
    "service-cree": "Le service a été créé.",
    "courriel-renvoye": "Le courriel est remis en file d'envoi : il part dans quelques instants.",
}
MAILBOX_KIND_LABELS = {
    MailboxKind.CONTACT: "Contact",
    MailboxKind.SEJOUR: "Séjour des étrangers",
    MailboxKind.QUALITE: "Suggestions et réclamations",
    MailboxKind.OTHER: "Autre",
}
# A connection test answers within this, whatever the pollers' own timeout.
DIAGNOSIS_TIMEOUT_SECONDS = 10.0
OUTBOX_PAGE_SIZE = 100
# Each outbox state: its word and the DSFR badge that goes with it (the word says it all).
OUTBOX_BADGES = {
    OutboxStatus.QUEUED: "info",
    OutboxStatus.SENDING: "new",
    OutboxStatus.SENT: "success",
    OutboxStatus.FAILED: "error",
    OutboxStatus.UNCERTAIN: "warning",
}
# The outbox's words, as the first word of a badge or an option.
OUTBOX_STATUS_LABELS = {
    status_: word[:1].upper() + word[1:] for status_, word in OUTBOX_STATUS_WORDS.items()
}
RETRYABLE = frozenset({OutboxStatus.FAILED, OutboxStatus.UNCERTAIN})
MAX_PASSWORD_LENGTH = 1024
M = TypeVar("M", bound=BaseModel)


# --- Shared -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Admin:
    """A request of the administration: the administrator signed in, the database session."""

    request: Request
    session: Session
    page: PageUser


def admin_request(request: Request, session: SessionDep, page: AdminPageDep) -> Admin:
    """The administrator's request (the others get 403, a form without its token too)."""
    return Admin(request=request, session=session, page=page)


AdminDep = Annotated[Admin, Depends(admin_request)]


def _page(
    admin: Admin,
    template: str,
    *,
    context: Mapping[str, Any],
    status_code: int = status.HTTP_200_OK,
) -> Response:
    """An administration page: the side menu and the notice of the last change."""
    notice = NOTICES.get(admin.request.query_params.get("avis", ""))
    return render(
        admin.request,
        template,
        page_user=admin.page,
        context={"admin_menu": MENU, "message": notice, **context},
        status_code=status_code,
    )


def _back(path: str, *, notice: str, anchor: str = "") -> RedirectResponse:
    """After a change, back to the page (a reload does not repeat the change)."""
    separator = "&" if "?" in path else "?"
    fragment = f"#{anchor}" if anchor else ""
    return RedirectResponse(
        f"{path}{separator}avis={notice}{fragment}", status_code=status.HTTP_303_SEE_OTHER
    )


def _not_found(message: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=message)


def _field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's errors by field, in French."""
    errors: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "formulaire"
        errors.setdefault(name, _french(item))
    return errors


def _french(item: Mapping[str, Any]) -> str:
    kind, context = item.get("type"), item.get("ctx") or {}
    if kind in {"missing", "string_too_short"}:
        return "Champ obligatoire."
    if kind == "string_too_long":
        return f"Texte trop long : au plus {context.get('max_length')} caractères."
    if kind == "string_pattern_mismatch":
        return "Format invalide."
    if kind in {"enum", "literal_error"}:
        return "Choisissez une valeur de la liste."
    if kind == "value_error" and "email" in str(item.get("msg", "")).lower():
        return INVALID_EMAIL
    return "Valeur invalide."


def _optional(value: str) -> str | None:
    return value.strip() or None


def _ids(values: list[str]) -> list[int]:
    """Row ids ticked in a form (anything else is ignored, and then refused as unknown)."""
    return sorted({number for number in map(row_id, values) if number is not None})


def _all_services(session: Session) -> list[Service]:
    return list(session.exec(select(Service).order_by(col(Service.name))).all())


@router.get("", response_class=RedirectResponse)
def administration(_page_user: AdminPageDep) -> RedirectResponse:
    """The administration opens on the mailboxes."""
    return RedirectResponse("/administration/boites", status_code=status.HTTP_303_SEE_OTHER)


# --- Mailboxes --------------------------------------------------------------------------------


@router.get("/boites", response_class=HTMLResponse)
def mailboxes(admin: AdminDep) -> Response:
    """Every mailbox: how its polling goes, its last error, a connection test."""
    return _mailboxes_page(admin, diagnoses={})


@router.post("/boites/test", response_class=HTMLResponse)
def test_mailbox(
    admin: AdminDep, settings: SettingsDep, slug: Annotated[str, Form(max_length=64)]
) -> Response:
    """Connect to the mailbox now; say what works or what does not (a fragment for htmx)."""
    mailbox = _mailbox_or_404(admin.session, slug)
    quick = settings.model_copy(
        update={
            "imap_timeout_seconds": min(settings.imap_timeout_seconds, DIAGNOSIS_TIMEOUT_SECONDS)
        }
    )
    try:
        diagnosis = {"ok": True, "message": diagnose_mailbox(mailbox, settings=quick)}
    except MailboxConnectionError as error:
        diagnosis = {"ok": False, "message": str(error)}
    if admin.request.headers.get("HX-Request") == "true":
        return render(
            admin.request,
            "admin/_diagnosis.html",
            page_user=admin.page,
            context={"diagnosis": diagnosis, "slug": mailbox.slug},
        )
    return _mailboxes_page(admin, diagnoses={mailbox.slug: diagnosis})


@router.post("/boites/activation", response_class=RedirectResponse)
def toggle_mailbox(
    session: SessionDep,
    page: AdminPageDep,
    slug: Annotated[str, Form(max_length=64)],
    enabled: Annotated[str, Form(max_length=3)],
) -> Response:
    """Enable or disable the mailbox's polling; traced with before and after."""
    mailbox = _mailbox_or_404(session, slug)
    wanted = enabled == "oui"
    try:
        update_mailbox_audited(
            session, mailbox=mailbox, mailbox_in=MailboxUpdate(enabled=wanted), actor=page.user
        )
    except MailboxError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
    notice = "boite-activee" if wanted else "boite-desactivee"
    return _back("/administration/boites", notice=notice, anchor=f"boite-{mailbox.slug}")


def _mailbox_or_404(session: Session, slug: str) -> Mailbox:
    try:
        return get_mailbox(session, slug=slug)
    except MailboxNotFoundError as error:
        raise _not_found(str(error)) from error


def _mailboxes_page(admin: Admin, *, diagnoses: dict[str, dict[str, Any]]) -> Response:
    services = {service.id: service.name for service in _all_services(admin.session)}
    return _page(
        admin,
        "admin/mailboxes.html",
        context={
            "mailboxes": list_mailboxes(admin.session),
            "services": services,
            "kind_labels": MAILBOX_KIND_LABELS,
            "diagnoses": diagnoses,
        },
    )


# --- Accounts ---------------------------------------------------------------------------------


@router.get("/utilisateurs", response_class=HTMLResponse)
def users(admin: AdminDep) -> Response:
    """Every account, its role, services and last sign-in; the form to create one."""
    return _users_page(admin, form={}, errors={})


@router.post("/utilisateurs", response_class=HTMLResponse)
def add_user(
    admin: AdminDep,
    email: Annotated[str, Form()] = "",
    first_name: Annotated[str, Form()] = "",
    last_name: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = UserRole.AGENT.value,
    service_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    password: Annotated[str, Form()] = "",
) -> Response:
    """Create an account (traced), with a password if one is given; or say what is wrong."""
    form = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "title": title,
        "role": role,
        "service_ids": service_ids,
    }
    errors = _password_errors(password)
    user_in = _model(
        UserCreate,
        errors,
        email=email.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        title=_optional(title),
        role=role,
        service_ids=_ids(service_ids),
    )
    if user_in is not None and not errors:
        try:
            user = create_user(admin.session, user_in=user_in, actor=admin.page.user)
            if password:
                set_password(admin.session, user=user, password=password, actor=admin.page.user)
        except UserInputError as error:
            admin.session.rollback()
            errors["email" if "compte" in str(error) else "service_ids"] = str(error)
        else:
            return _back("/administration/utilisateurs", notice="compte-cree")
    return _users_page(
        admin, form=form, errors=errors, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


@router.get("/utilisateurs/modifier", response_class=HTMLResponse)
def edit_user(admin: AdminDep, compte: str = "") -> Response:
    """The form that changes an account's role, services and state."""
    user = _user_or_404(admin.session, compte)
    assert user.id is not None
    form = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "title": user.title or "",
        "role": user.role.value,
        "service_ids": [str(i) for i in service_ids_of(admin.session, user_id=user.id)],
        "is_active": user.is_active,
    }
    return _edit_page(admin, user=user, form=form, errors={})


@router.post("/utilisateurs/modifier", response_class=HTMLResponse)
def change_user(
    admin: AdminDep,
    user_id: Annotated[str, Form()] = "",
    first_name: Annotated[str, Form()] = "",
    last_name: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    service_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    is_active: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Change the account (traced with before and after), or say what is wrong."""
    user = _user_or_404(admin.session, user_id)
    active = is_active == "oui"
    form = {
        "first_name": first_name,
        "last_name": last_name,
        "title": title,
        "role": role,
        "service_ids": service_ids,
        "is_active": active,
    }
    errors = _password_errors(password) | _self_lockout_errors(
        admin.page, user, role=role, active=active
    )
    user_in = _model(
        UserUpdate,
        errors,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        title=_optional(title),
        role=role,
        is_active=active,
        service_ids=_ids(service_ids),
    )
    if user_in is not None and not errors:
        try:
            update_user(admin.session, user=user, user_in=user_in, actor=admin.page.user)
            if password:
                set_password(admin.session, user=user, password=password, actor=admin.page.user)
        except UserInputError as error:
            admin.session.rollback()
            errors["service_ids"] = str(error)
        else:
            return _back("/administration/utilisateurs", notice="compte-modifie")
    return _edit_page(
        admin,
        user=user,
        form=form,
        errors=errors,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _model(model: type[M], errors: dict[str, str], **values: Any) -> M | None:
    """The values as the API's model, or None with their errors added."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        errors.update({k: v for k, v in _field_errors(error).items() if k not in errors})
        return None


def _password_errors(password: str) -> dict[str, str]:
    if not password:
        return {}
    if len(password) < MIN_PASSWORD_LENGTH:
        return {"password": f"Au moins {MIN_PASSWORD_LENGTH} caractères."}
    if len(password) > MAX_PASSWORD_LENGTH:
        return {"password": f"Au plus {MAX_PASSWORD_LENGTH} caractères."}
    return {}


def _self_lockout_errors(page: PageUser, user: User, *, role: str, active: bool) -> dict[str, str]:
    """An administrator keeps their own access: someone must be left to give it back."""
    if user.id != page.user.id:
        return {}
    if role != UserRole.ADMIN.value:
        return {"role": "Vous ne pouvez pas retirer votre propre rôle d'administrateur."}
    if not active:
        return {"is_active": "Vous ne pouvez pas désactiver votre propre compte."}
    return {}


def _user_or_404(session: Session, user_id: str) -> User:
    number = row_id(user_id)
    user = session.get(User, number) if number is not None else None
    if user is None:
        raise _not_found(f"Aucun compte n° {user_id}.")
    return user


def _users_page(
    admin: Admin,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = status.HTTP_200_OK,
) -> Response:
    session = admin.session
    services = _all_services(session)
    names = {service.id: service.name for service in services}
    memberships: dict[int, list[str]] = {}
    for membership in session.exec(select(ServiceMembership)).all():
        memberships.setdefault(membership.user_id, []).append(names[membership.service_id])
    return _page(
        admin,
        "admin/users.html",
        context={
            "users": session.exec(
                select(User).order_by(col(User.last_name), col(User.first_name))
            ).all(),
            "memberships": {user_id: sorted(found) for user_id, found in memberships.items()},
            "services": services,
            "roles": list(UserRole),
            "form": form,
            "errors": errors,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


def _edit_page(
    admin: Admin,
    *,
    user: User,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return _page(
        admin,
        "admin/user_edit.html",
        context={
            "account": user,
            "services": _all_services(admin.session),
            "roles": list(UserRole),
            "form": form,
            "errors": errors,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


# --- Services ---------------------------------------------------------------------------------


@router.get("/services", response_class=HTMLResponse)
def services(admin: AdminDep) -> Response:
    """The préfecture's services and their members; the form to add one."""
    return _services_page(admin, form={}, errors={})


@router.post("/services", response_class=HTMLResponse)
def add_service(
    admin: AdminDep,
    slug: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    """Create a service (traced), or say what is wrong."""
    form = {"slug": slug, "name": name, "email": email}
    errors = _service_errors(slug=slug.strip(), name=name.strip(), email=email.strip())
    if not errors:
        try:
            create_service(
                admin.session,
                slug=slug.strip(),
                name=name.strip(),
                email=_optional(email.lower()),
                actor=admin.page.user,
            )
        except UserInputError as error:
            admin.session.rollback()
            errors["slug"] = str(error)
        else:
            return _back("/administration/services", notice="service-cree")
    return _services_page(
        admin, form=form, errors=errors, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def _service_errors(*, slug: str, name: str, email: str) -> dict[str, str]:
    """The service's fields checked as the columns and the mailboxes' slugs require."""
    errors: dict[str, str] = {}
    if not re.fullmatch(SLUG_PATTERN, slug):
        errors["slug"] = (
            "Identifiant invalide : lettres minuscules sans accent, chiffres et tirets, "
            "64 caractères au plus (exemple : sejour)."
        )
    if not name:
        errors["name"] = "Champ obligatoire."
    elif len(name) > 200:
        errors["name"] = "Texte trop long : au plus 200 caractères."
    if email and email_address(email) is None:
        errors["email"] = INVALID_EMAIL
    return errors


def _services_page(
    admin: Admin,
    *,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = status.HTTP_200_OK,
) -> Response:
    session = admin.session
    members = dict(
        session.exec(
            select(
                ServiceMembership.service_id, func.count(col(ServiceMembership.user_id))
            ).group_by(col(ServiceMembership.service_id))
        ).all()
    )
    return _page(
        admin,
        "admin/services.html",
        context={
            "services": _all_services(session),
            "members": members,
            "form": form,
            "errors": errors,
        },
        status_code=status_code,
    )


# --- Letter templates -------------------------------------------------------------------------


@router.get("/modeles", response_class=HTMLResponse)
def templates(admin: AdminDep, settings: SettingsDep) -> Response:
    """The standard letters and their variables; the canned replies."""
    try:
        letters, error = letter_templates(settings), None
    except LetterTemplateError as broken:
        letters, error = [], str(broken)
    names = {service.id: service.name for service in _all_services(admin.session)}
    return _page(
        admin,
        "admin/templates.html",
        context={
            "letters": letters,
            "error": error,
            "canned": canned_replies(admin.session, service_id=None),
            "service_names": names,
        },
    )


@router.get("/modeles/apercu", response_class=HTMLResponse)
def template_preview(admin: AdminDep, settings: SettingsDep, modele: str = "") -> Response:
    """A letter filled in with example values, its printed page in a sandboxed frame."""
    template = _template_or_404(settings, modele)
    values = _example_values(template, settings=settings)
    try:
        rendered = _example_letter(admin.session, template, page=admin.page, settings=settings)
        error = None
    except (LetterTemplateError, TemplateRenderError) as broken:
        rendered, error = None, str(broken)
    return _page(
        admin,
        "admin/template_preview.html",
        context={"template": template, "values": values, "rendered": rendered, "error": error},
    )


@router.get("/modeles/document", response_class=HTMLResponse)
def template_document(
    session: SessionDep, settings: SettingsDep, page: AdminPageDep, modele: str = ""
) -> Response:
    """The printed page of the example letter, for the preview's sandboxed frame only."""
    template = _template_or_404(settings, modele)
    try:
        document = _example_letter(session, template, page=page, settings=settings).document
    except (LetterTemplateError, TemplateRenderError) as broken:
        document = f"<!doctype html><p>{escape(str(broken))}</p>"
    return HTMLResponse(
        document,
        headers={
            # The letter's own <style> only: no script, no request anywhere, framed by us alone.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; frame-ancestors 'self'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


def _template_or_404(settings: Settings, name: str) -> LetterTemplate:
    try:
        return letter_template(settings, name)
    except LetterTemplateError as error:
        raise _not_found(str(error)) from error


def _example_letter(
    session: Session, template: LetterTemplate, *, page: PageUser, settings: Settings
) -> RenderedLetter:
    """The letter rendered for a made-up case (never saved), signed by the administrator."""
    today = settings.today()
    received_on = today - timedelta(days=7)
    kind = next((CaseKind(k) for k in template.kinds if k in set(CaseKind)), CaseKind.OTHER)
    case = Case(
        reference=f"{settings.prefecture.case_reference_prefix}-{today.year}-000123",
        channel=CaseChannel.PAPER,
        kind=kind,
        subject="Objet de la demande (exemple)",
        sender_name="Mme Jeanne Exemple",
        sender_email="jeanne.exemple@example.org",
        sender_postal_address="12 rue de l'Exemple\nAppartement 3\n32000 Auch",
        received_at=datetime.combine(received_on, time(9, 30), tzinfo=settings.tzinfo).astimezone(
            UTC
        ),
        received_on=received_on,
    )
    context = letter_context(
        session, case=case, signatory=page.user, settings=settings, today=today
    )
    # The logo is a file: URL for the PDF maker; the browser's frame could not load it.
    context["prefecture"] = context["prefecture"] | {"logo_url": ""}
    values = agent_values(template, _example_values(template, settings=settings))
    return render_letter(settings=settings, template=template.name, context=context | values)


def _example_values(template: LetterTemplate, *, settings: Settings) -> dict[str, object]:
    """A plausible value for each variable the agent fills in: its default, else an example."""
    return {
        name: spec.default
        if spec.default is not None
        else _example(spec, settings=settings, today=settings.today())
        for name, spec in template.asked.items()
    }


def _example(spec: VariableSpec, *, settings: Settings, today: date) -> object:
    catalogue = list(getattr(settings, f"{spec.catalogue}_catalogue", [])) if spec.catalogue else []
    examples: dict[VariableType, object] = {
        VariableType.STR: f"{spec.label} (exemple)",
        VariableType.TEXT: f"{spec.label} : exemple de texte saisi par l'agent.\n"
        "Une seconde ligne montre le retour à la ligne.",
        VariableType.INT: 15,
        VariableType.BOOL: True,
        VariableType.DATE: (today + timedelta(days=14)).isoformat(),
        VariableType.TIME: "14:30",
        VariableType.LIST: catalogue[:3]
        or [f"{spec.label} (exemple 1)", f"{spec.label} (exemple 2)"],
    }
    return examples.get(spec.type, "")


# --- Outbox -----------------------------------------------------------------------------------


@router.get("/envois", response_class=HTMLResponse)
def outbox(admin: AdminDep, statut: str = "", avant: str = "") -> Response:
    """The outgoing e-mails, the latest first, a hundred at a time; failures can be resent."""
    chosen = OutboxStatus(statut) if statut in set(OutboxStatus) else None
    before = row_id(avant)
    query = (
        select(OutboxEmail, Case.reference)
        .outerjoin(Case, col(Case.id) == col(OutboxEmail.case_id))
        .order_by(col(OutboxEmail.id).desc())
        .limit(OUTBOX_PAGE_SIZE + 1)
    )
    if chosen is not None:
        query = query.where(col(OutboxEmail.status) == chosen)
    if before is not None:
        query = query.where(col(OutboxEmail.id) < before)
    rows = list(admin.session.exec(query).all())
    counts = dict(
        admin.session.exec(
            select(OutboxEmail.status, func.count(col(OutboxEmail.id))).group_by(
                col(OutboxEmail.status)
            )
        ).all()
    )
    older = rows[OUTBOX_PAGE_SIZE - 1][0].id if len(rows) > OUTBOX_PAGE_SIZE else None
    return _page(
        admin,
        "admin/outbox.html",
        context={
            "rows": rows[:OUTBOX_PAGE_SIZE],
            "chosen": chosen,
            "counts": counts,
            "older": older,
            "paged": before is not None,
            "page_size": OUTBOX_PAGE_SIZE,
            "statuses": list(OutboxStatus),
            "status_labels": OUTBOX_STATUS_LABELS,
            "badges": OUTBOX_BADGES,
            "purposes": OUTBOX_PURPOSE_LABELS,
            "retryable": RETRYABLE,
        },
    )


@router.post("/envois/renvoyer", response_class=RedirectResponse)
def retry_email(
    session: SessionDep,
    page: AdminPageDep,
    outbox_id: Annotated[str, Form()] = "",
    statut: Annotated[str, Form()] = "",
) -> Response:
    """Queue a failed or uncertain e-mail again (traced); a worker sends it now."""
    number = row_id(outbox_id)
    email = session.get(OutboxEmail, number) if number is not None else None
    if email is None or email.id is None:
        raise _not_found(f"Aucun courriel n° {outbox_id} dans la file d'envoi.")
    before = email.status
    try:
        requeue_email(session, outbox_id=email.id)
    except ValueError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"Impossible : {error}.") from error
    record(
        session,
        action="outbox.requeued",
        actor=page.user,
        case_id=email.case_id,
        object_type="outbox_email",
        object_id=email.id,
        changes={"status": [before.value, email.status.value]},
    )
    back = (
        f"/administration/envois?statut={statut}"
        if statut in set(OutboxStatus)
        else ("/administration/envois")
    )
    return _back(back, notice="courriel-renvoye")
