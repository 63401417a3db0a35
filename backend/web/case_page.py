"""A case's page: its thread, timeline and delays, and what an agent does to it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from backend.audit.service import record
from backend.cases import service
from backend.cases.presentation import public_case
from backend.cases.repository import (
    case_events,
    case_messages,
    case_outbox,
    case_waiting_periods,
)
from backend.cases.schemas import CasePublic
from backend.cases.service import (
    CaseForbiddenError,
    CaseInputError,
    StaleCaseError,
)
from backend.cases.workflow import (
    DIRECT_STATUS_CHANGES,
    STATUS_LABELS,
    TransitionNotAllowedError,
)
from backend.config import Settings
from backend.database import SessionDep
from backend.models import (
    AnswerChannel,
    Attachment,
    AuditEvent,
    Case,
    CaseKind,
    CaseStatus,
    Mailbox,
    Message,
    MessageDirection,
    OutboxEmail,
    Service,
    User,
    UserRole,
)
from backend.models.outbox import OutboxStatus
from backend.outbox.labels import OUTBOX_PURPOSE_LABELS
from backend.storage.filestore import FileStore
from backend.validation import RowId
from backend.web import labels
from backend.web.dependencies import CaseRequest, CaseRequestDep, PageCaseDep
from backend.web.forms import FormError, optional_id, required_choice, required_day, whole_number
from backend.web.people import full_name, service_members, user_names
from backend.web.templating import PageUser, local_date, render

router = APIRouter(include_in_schema=False)

# The sanitised HTML is shown in a sandboxed frame and, should markup slip through the
# sanitiser, its own policy still runs no script, loads nothing, submits nothing.
MESSAGE_FRAME_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}
MESSAGE_FRAME_PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
    "<title>Message du demandeur</title></head><body>{body}</body></html>"
)
STALE_MESSAGE = "Le dossier a été modifié entre-temps par quelqu'un d'autre : rechargez la page."
MAX_NOTE_CHARS = 20_000
MAX_ANNOUNCED_DELAY_DAYS = 365
# htmx event the answer tools listen to: the case changed, its version with it.
CASE_CHANGED_EVENT = "dossier-modifie"


REFUSALS: dict[type[Exception], int] = {
    FormError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    CaseInputError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    CaseForbiddenError: status.HTTP_403_FORBIDDEN,
    TransitionNotAllowedError: status.HTTP_409_CONFLICT,
    StaleCaseError: status.HTTP_409_CONFLICT,
}
# What each action says once done; the key is also the action's path segment.
DONE_MESSAGES = {
    "classer": "La nature du dossier est enregistrée.",
    "attribuer": "L'attribution du dossier est enregistrée.",
    "statut": "Le statut du dossier est modifié.",
    "reponse-attente": "La réponse d'attente est enregistrée.",
    "pieces-recues": "La réception des pièces est enregistrée : le traitement reprend.",
    "repondu-autrement": "La réponse apportée par un autre canal est enregistrée.",
    "note": "La note interne est ajoutée à l'historique.",
    "clore": "Le dossier est clos.",
    "rouvrir": "Le dossier est rouvert.",
}
# The timeline's sentence for each action code of the audit trail.
EVENT_SENTENCES = {
    "case.opened": "Dossier ouvert à la réception du courriel",
    "message.received": "Nouveau message reçu dans le dossier",
    "case.registered": "Courrier enregistré",
    "case.classified": "Nature du dossier modifiée",
    "case.assigned": "Attribution modifiée",
    "case.status_changed": "Statut modifié",
    "case.holding_reply": "Réponse d'attente enregistrée",
    "case.answered": "Réponse apportée au demandeur",
    "case.documents_requested": "Pièces demandées au demandeur",
    "case.documents_received": "Pièces reçues, le traitement reprend",
    "case.closed": "Dossier clos",
    "case.reopened": "Dossier rouvert",
    "case.letter": "Courrier type envoyé",
    "case.note": "Note interne",
    "case.merged": "Dossier fusionné dans un autre dossier",
    "case.absorbed": "Un autre dossier a été fusionné dans celui-ci",
    "case.scan_attached": "Numérisation jointe au courrier",
    "retention.applied": "Données personnelles effacées au terme de leur conservation",
    "citizen.erased": "Données personnelles effacées à la demande du demandeur",
    "citizen.exported": "Données personnelles communiquées au demandeur",
}
ACTOR_LABELS = {
    "system:poller": "Relève automatique des courriels",
    "system:retention": "Purge automatique",
    "anonymous": "Anonyme",
}
CHANGED_FIELDS = {
    "kind": "Nature",
    "status": "Statut",
    "service_id": "Service",
    "assignee_id": "Agent",
    "due_date": "Échéance",
}
DETAIL_LABELS = {
    "announced_delay_days": "Délai annoncé",
    "documents": "Pièces demandées",
    "reason": "Motif",
    "channel": "Canal",
    "delivery": "Envoi",
    "answered_on": "Date de la réponse",
    "to": "Destinataire",
    "template": "Modèle",
    "into": "Fusionné dans",
    "from": "Dossier absorbé",
    "text": "Note",
}
# What became of an e-mail we sent, as the thread says it ("Envoi : En attente d'envoi").
DELIVERY_LABELS = {
    OutboxStatus.QUEUED: "En attente d'envoi",
    OutboxStatus.SENDING: "Envoi en cours",
    OutboxStatus.SENT: "Envoyé",
    OutboxStatus.FAILED: "Échec de l'envoi",
    OutboxStatus.UNCERTAIN: "Envoi incertain",
}
# An answer given elsewhere: the channels the service accepts for it.
ELSEWHERE_CHANNELS = (AnswerChannel.PHONE, AnswerChannel.POST, AnswerChannel.IN_PERSON)

FormText = Annotated[str | None, Form()]


# --- What the page shows -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThreadItem:
    """A message of the thread, from the citizen or to them, as the page shows it."""

    anchor: str
    label: str
    outgoing: bool
    at: datetime
    sender: str
    recipients: str
    subject: str
    text: str
    html_url: str | None = None
    attachments: Sequence[Attachment] = ()
    delivery: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step of the timeline, in French."""

    at: datetime
    sentence: str
    actor: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Names:
    """The names of the users and services an event mentions."""

    users: dict[int, str]
    services: dict[int, str]

    def user(self, user_id: object) -> str:
        """A user's name, or "aucun"."""
        if not isinstance(user_id, int):
            return "aucun"
        return self.users.get(user_id, f"agent n° {user_id}")

    def service(self, service_id: object) -> str:
        """A service's name, or "aucun"."""
        if not isinstance(service_id, int):
            return "aucun"
        return self.services.get(service_id, f"service n° {service_id}")


def _address(name: str | None, address: str | None) -> str:
    """ "Camille Martin <camille@example.org>", or whichever part is known."""
    if name and address:
        return f"{name} <{address}>"
    return name or address or "–"


def _thread(session: Session, *, case: Case, settings: Settings) -> list[ThreadItem]:
    """Incoming and outgoing messages of the case, oldest first."""
    assert case.id is not None
    items = [
        _message_item(case, message, attachments)
        for message, attachments in case_messages(session, case_id=case.id)
    ]
    store = FileStore(settings.file_store_dir)
    items += [_outbox_item(email, store=store) for email in case_outbox(session, case_id=case.id)]
    return sorted(items, key=lambda item: item.at)


def _message_item(case: Case, message: Message, attachments: Sequence[Attachment]) -> ThreadItem:
    outgoing = message.direction is MessageDirection.OUTBOUND
    return ThreadItem(
        anchor=f"message-{message.id}",
        label="Message envoyé" if outgoing else "Message du demandeur",
        outgoing=outgoing,
        at=message.received_at,
        sender=_address(message.from_name, message.from_address),
        recipients=", ".join([*message.to_addresses, *message.cc_addresses]) or "–",
        subject=message.subject,
        text=message.body_text.strip() or "(message sans texte)",
        html_url=(f"/dossiers/{case.id}/messages/{message.id}/html" if message.body_html else None),
        attachments=attachments,
    )


def _outbox_item(email: OutboxEmail, *, store: FileStore) -> ThreadItem:
    return ThreadItem(
        anchor=f"envoi-{email.id}",
        label=OUTBOX_PURPOSE_LABELS.get(email.purpose, "Courriel envoyé"),
        outgoing=True,
        at=email.sent_at or email.created_at,
        sender=email.from_address,
        recipients=", ".join(email.recipients) or "–",
        subject=email.subject,
        text=_outgoing_text(email, store=store),
        delivery=DELIVERY_LABELS.get(email.status, str(email.status)),
    )


def _outgoing_text(email: OutboxEmail, *, store: FileStore) -> str:
    """The plain text of an e-mail we sent, read back from its stored MIME bytes."""
    if email.raw_sha256 is None:
        return "(texte composé au moment de l'envoi)"
    try:
        parsed = message_from_bytes(store.read_bytes(email.raw_sha256), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
    except (OSError, LookupError, ValueError):
        return "(texte indisponible)"
    return str(text).strip() or "(message sans texte)"


def _timeline(session: Session, *, case: Case) -> list[TimelineEntry]:
    """What happened to the case, who did it and when, in French."""
    assert case.id is not None
    events = case_events(session, case_id=case.id)
    names = _names(session, events)
    return [
        TimelineEntry(
            at=event.occurred_at,
            sentence=EVENT_SENTENCES.get(event.action, f"Événement « {event.action} »"),
            actor=_actor(event, names=names),
            details=[*_changes(event, names=names), *_details(event)],
        )
        for event in events
    ]


def _names(session: Session, events: Sequence[AuditEvent]) -> Names:
    """Who and which services the events name, looked up once."""
    user_ids = {event.actor_user_id for event in events if event.actor_user_id is not None}
    service_ids: set[int] = set()
    for event in events:
        user_ids |= {v for v in event.changes.get("assignee_id", ()) if isinstance(v, int)}
        service_ids |= {v for v in event.changes.get("service_id", ()) if isinstance(v, int)}
    services = (
        session.exec(select(Service).where(col(Service.id).in_(sorted(service_ids)))).all()
        if service_ids
        else []
    )
    return Names(
        users=user_names(session, user_ids),
        services={s.id: s.name for s in services if s.id is not None},
    )


def _actor(event: AuditEvent, *, names: Names) -> str:
    if event.actor_user_id is not None:
        return names.user(event.actor_user_id)
    if event.actor_label:
        return ACTOR_LABELS.get(event.actor_label, event.actor_label)
    return "Qualipref"


def _changes(event: AuditEvent, *, names: Names) -> list[str]:
    """ "Statut : nouveau → attribué" for each field a person cares about."""
    lines = []
    for name, label in CHANGED_FIELDS.items():
        change = event.changes.get(name)
        if isinstance(change, list) and len(change) == 2:
            before, after = (_changed_value(name, value, names=names) for value in change)
            lines.append(f"{label} : {before} → {after}")
    return lines


def _changed_value(name: str, value: Any, *, names: Names) -> str:
    if value is None:
        return "aucun" if name in {"service_id", "assignee_id"} else "–"
    formats: dict[str, Callable[[Any], str]] = {
        "kind": lambda v: labels.KIND_LABELS[CaseKind(v)].lower(),
        "status": lambda v: STATUS_LABELS[CaseStatus(v)],
        "service_id": names.service,
        "assignee_id": names.user,
        "due_date": lambda v: local_date(date.fromisoformat(v)),
    }
    try:
        return formats[name](value)
    except (ValueError, KeyError, TypeError):
        return str(value)


def _details(event: AuditEvent) -> list[str]:
    """The details of an event worth reading, in French."""
    lines = []
    for name, label in DETAIL_LABELS.items():
        value = event.details.get(name)
        if value is None or value == "" or value == []:
            continue
        lines.append(f"{label} : {_detail_value(name, value)}")
    return lines


def _detail_value(name: str, value: Any) -> str:
    if name == "announced_delay_days":
        return f"{value} jour{'s' if value != 1 else ''}"
    if name == "documents" and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if name == "channel":
        try:
            return labels.ANSWER_CHANNEL_LABELS[AnswerChannel(value)]
        except ValueError:
            return str(value)
    if name == "delivery":
        return {"email": "par courriel", "post": "par voie postale"}.get(value, str(value))
    if name == "answered_on":
        try:
            return local_date(date.fromisoformat(value))
        except (TypeError, ValueError):
            return str(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Assignment:
    """What the assignment forms offer this user."""

    services: Sequence[Service]
    # Members of each service, for the agent select (a service head picks anyone of them).
    members: dict[int, list[tuple[int, str]]]
    own_service_ids: frozenset[int]
    # The service "M'attribuer le dossier" keeps or sets; None: the user has no service.
    self_service_id: int | None


def _assignment(session: Session, *, case: Case, page: PageUser) -> Assignment:
    services = session.exec(select(Service).order_by(col(Service.name))).all()
    members = service_members(session)
    own = page.viewer.service_ids
    if case.service_id in own:
        self_service_id: int | None = case.service_id
    else:
        self_service_id = min(own) if own else None
    return Assignment(
        services=services,
        members=members,
        own_service_ids=own,
        self_service_id=self_service_id,
    )


def _case_context(
    session: Session, *, case: Case, page: PageUser, settings: Settings
) -> dict[str, Any]:
    """Everything the page (or its changed fragments) shows of the case."""
    assert case.id is not None
    public: CasePublic = public_case(session, case, settings=settings)
    mailbox = session.get(Mailbox, case.mailbox_id) if case.mailbox_id else None
    owner = session.get(Service, case.service_id) if case.service_id else None
    assignee = session.get(User, case.assignee_id) if case.assignee_id else None
    return {
        "case": public,
        "mailbox": mailbox,
        "owner": owner,
        "assignee": full_name(assignee) if assignee else None,
        "operations": set(public.allowed_operations),
        "status_targets": sorted(
            DIRECT_STATUS_CHANGES[case.status], key=lambda s: list(CaseStatus).index(s)
        ),
        "assignment": _assignment(session, case=case, page=page),
        "is_agent": page.role is UserRole.AGENT,
        "elsewhere_channels": ELSEWHERE_CHANNELS,
        "today": settings.today(),
        "timeline": _timeline(session, case=case),
        "waiting_periods": case_waiting_periods(session, case_id=case.id),
        "max_delay_days": MAX_ANNOUNCED_DELAY_DAYS,
    }


# --- Reading -------------------------------------------------------------------------------


@router.get("/dossiers/{case_id}", response_class=HTMLResponse)
def case_page(on: CaseRequestDep, fait: str | None = None) -> Response:
    """The case: summary, delays, actions, thread, answer tools and timeline; the view is traced."""
    assert on.case.id is not None
    record(on.session, action="case.viewed", actor=on.actor, case_id=on.case.id, object_type="case")
    return _full_page(on, message=DONE_MESSAGES.get(fait) if fait else None)


@router.get("/dossiers/{case_id}/messages/{message_id}/html", response_class=HTMLResponse)
def message_html(session: SessionDep, case: PageCaseDep, message_id: RowId) -> Response:
    """A message's sanitised HTML, for the sandboxed frame: no script, nothing loaded."""
    message = session.get(Message, message_id)
    if message is None or message.case_id != case.id or not message.body_html:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail="Ce message n'a pas de version mise en forme."
        )
    return HTMLResponse(
        MESSAGE_FRAME_PAGE.format(body=message.body_html), headers=MESSAGE_FRAME_HEADERS
    )


def _full_page(
    on: CaseRequest,
    *,
    message: str | None = None,
    message_kind: str = "success",
    status_code: int = status.HTTP_200_OK,
) -> Response:
    """The whole case page, with an alert when an action was just done or refused."""
    context = _case_context(on.session, case=on.case, page=on.page, settings=on.settings)
    thread = _thread(on.session, case=on.case, settings=on.settings)
    return render(
        on.request,
        "case/case.html",
        page_user=on.page,
        context={**context, "thread": thread, "message": message, "message_kind": message_kind},
        status_code=status_code,
    )


# --- Acting ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Act(CaseRequest):
    """One action posted from the page: a request on the case, and the case's version read."""

    version: str | None = None


def posted_act(on: CaseRequestDep, version: FormText = None) -> Act:
    """The action; the case is loaded (or 404) and the CSRF token checked before anything else."""
    return Act(on.request, on.session, on.settings, on.page, on.case, version)


ActDep = Annotated[Act, Depends(posted_act)]


def _act(act: Act, *, done: str, change: Callable[[], object]) -> Response:
    """Check the version read, make the change through the service, and show the result.

    htmx gets the changed fragments and an alert; a plain form is redirected to the page
    (or, when refused, gets the page again with why).
    """
    try:
        service.check_version(act.case, expected_version=_version(act.version))
        change()
    except tuple(REFUSALS) as error:
        message = STALE_MESSAGE if isinstance(error, StaleCaseError) else str(error)
        return _answer(act, message=message, kind="error", status_code=REFUSALS[type(error)])
    act.session.flush()
    if act.is_htmx:
        response = _answer(act, message=DONE_MESSAGES[done], kind="success")
        response.headers["HX-Trigger"] = CASE_CHANGED_EVENT
        return response
    return RedirectResponse(
        f"/dossiers/{act.case.id}?fait={done}", status_code=status.HTTP_303_SEE_OTHER
    )


def _answer(act: Act, *, message: str, kind: str, status_code: int = 200) -> Response:
    """The changed fragments for htmx, the whole page for a plain form."""
    if not act.is_htmx:
        return _full_page(act, message=message, message_kind=kind, status_code=status_code)
    context = _case_context(act.session, case=act.case, page=act.page, settings=act.settings)
    return render(
        act.request,
        "case/_changed.html",
        page_user=act.page,
        context={**context, "message": message, "message_kind": kind},
        status_code=status_code,
    )


def _version(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError as error:
        raise FormError(
            "La version du dossier manque au formulaire : rechargez la page."
        ) from error


@router.post("/dossiers/{case_id}/classer", response_class=HTMLResponse)
def classify(act: ActDep, kind: FormText = None) -> Response:
    """Set the case's kind (its due date follows)."""

    def change() -> None:
        chosen = required_choice(CaseKind, kind, missing="Choisissez la nature du dossier.")
        service.classify(
            act.session, case=act.case, kind=chosen, actor=act.actor, settings=act.settings
        )

    return _act(act, done="classer", change=change)


@router.post("/dossiers/{case_id}/attribuer", response_class=HTMLResponse)
def assign(act: ActDep, service_id: FormText = None, assignee_id: FormText = None) -> Response:
    """Give the case to a service and, optionally, one of its agents."""

    def change() -> None:
        service.assign(
            act.session,
            case=act.case,
            service_id=optional_id(service_id, what="Service"),
            assignee_id=optional_id(assignee_id, what="Agent"),
            actor=act.actor,
        )

    return _act(act, done="attribuer", change=change)


@router.post("/dossiers/{case_id}/statut", response_class=HTMLResponse)
def set_status(
    act: ActDep, status_: Annotated[str | None, Form(alias="status")] = None
) -> Response:
    """A direct status change the lifecycle allows."""

    def change() -> None:
        target = required_choice(CaseStatus, status_, missing="Choisissez le nouveau statut.")
        service.set_status(act.session, case=act.case, status=target, actor=act.actor)

    return _act(act, done="statut", change=change)


@router.post("/dossiers/{case_id}/reponse-attente", response_class=HTMLResponse)
def record_holding_reply(act: ActDep, announced_delay_days: FormText = None) -> Response:
    """Record a reply announcing the processing delay."""

    def change() -> None:
        days = whole_number(
            announced_delay_days, what="Délai annoncé", low=1, high=MAX_ANNOUNCED_DELAY_DAYS
        )
        service.record_holding_reply(
            act.session,
            case=act.case,
            announced_delay_days=days,
            actor=act.actor,
            settings=act.settings,
        )

    return _act(act, done="reponse-attente", change=change)


@router.post("/dossiers/{case_id}/pieces-recues", response_class=HTMLResponse)
def documents_received(act: ActDep) -> Response:
    """The documents asked of the citizen arrived: the wait ends."""

    def change() -> None:
        service.documents_received(
            act.session, case=act.case, actor=act.actor, settings=act.settings
        )

    return _act(act, done="pieces-recues", change=change)


@router.post("/dossiers/{case_id}/repondu-autrement", response_class=HTMLResponse)
def answered_elsewhere(
    act: ActDep, channel: FormText = None, answered_on: FormText = None
) -> Response:
    """The citizen was answered by phone, by post or in person."""

    def change() -> None:
        missing = "Choisissez le canal de la réponse."
        chosen = required_choice(AnswerChannel, channel, missing=missing)
        if chosen not in ELSEWHERE_CHANNELS:
            raise FormError(missing)
        service.mark_answered_elsewhere(
            act.session,
            case=act.case,
            channel=chosen,
            answered_on=required_day(answered_on, what="Date de la réponse"),
            actor=act.actor,
            settings=act.settings,
        )

    return _act(act, done="repondu-autrement", change=change)


@router.post("/dossiers/{case_id}/note", response_class=HTMLResponse)
def add_note(act: ActDep, text: FormText = None) -> Response:
    """An internal note in the timeline, never sent to the citizen."""

    def change() -> None:
        note = (text or "").strip().replace("\x00", "")
        if not note or len(note) > MAX_NOTE_CHARS:
            raise FormError(f"Note : saisissez un texte de 1 à {MAX_NOTE_CHARS} caractères.")
        service.add_note(act.session, case=act.case, text=note, actor=act.actor)

    return _act(act, done="note", change=change)


@router.post("/dossiers/{case_id}/clore", response_class=HTMLResponse)
def close(act: ActDep) -> Response:
    """Close the case."""
    return _act(
        act,
        done="clore",
        change=lambda: service.close(
            act.session, case=act.case, actor=act.actor, settings=act.settings
        ),
    )


@router.post("/dossiers/{case_id}/rouvrir", response_class=HTMLResponse)
def reopen(act: ActDep) -> Response:
    """Reopen a closed or answered case."""
    return _act(
        act,
        done="rouvrir",
        change=lambda: service.reopen(act.session, case=act.case, actor=act.actor),
    )
