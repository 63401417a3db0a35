"""Answering a case by e-mail, from the agent's text or a canned reply, signed as the law asks."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from backend.cases.service import CaseInputError, answer_case
from backend.cases.threading import answer_threading, incoming_message
from backend.cases.workflow import Operation, check_operation
from backend.config import Settings
from backend.letters.rendering import TemplateRenderError, render_text
from backend.mail.compose import OutgoingAttachment, OutgoingEmail, new_message_id
from backend.mail.headers import Defects, parse_addresses
from backend.mail.message import ParsedAddress
from backend.models import (
    AnswerChannel,
    CannedReply,
    Case,
    Mailbox,
    Message,
    OutboxPurpose,
    Service,
    User,
)
from backend.outbox.service import EmailToQueue, queue_emails
from backend.storage.filestore import FileStore


def reply_by_email(
    session: Session,
    *,
    case: Case,
    text: str | None,
    canned_reply_id: int | None,
    variables: Mapping[str, str],
    actor: User,
    settings: Settings,
) -> int:
    """Queue the reply in the citizen's thread; the case is answered. The outbox id."""
    check_operation(Operation.REPLY, status=case.status)
    service = session.get(Service, case.service_id) if case.service_id else None
    body = _body(
        session,
        case=case,
        text=text,
        canned_reply_id=canned_reply_id,
        context=canned_reply_values(case, actor=actor, service=service, variables=variables),
        settings=settings,
    )
    outbox_id, recipient = queue_case_email(
        session,
        case=case,
        subject=_subject(case),
        text=f"{body.rstrip()}\n\n{_signature(actor, service=service, settings=settings)}\n",
        html=None,
        purpose=OutboxPurpose.REPLY,
        settings=settings,
    )
    answer_case(
        session,
        case=case,
        channel=AnswerChannel.EMAIL,
        at=None,  # the moment the SMTP server accepts it
        actor=actor,
        settings=settings,
        details={"outbox_id": outbox_id, "to": recipient.address},
    )
    return outbox_id


def queue_case_email(
    session: Session,
    *,
    case: Case,
    subject: str,
    text: str,
    html: str | None,
    purpose: OutboxPurpose,
    settings: Settings,
    attachments: tuple[OutgoingAttachment, ...] = (),
) -> tuple[int, ParsedAddress]:
    """Queue an e-mail to the citizen, in their thread, from the case's mailbox.

    The outbox id and the address it goes to.
    """
    assert case.id is not None
    latest = incoming_message(session, case_id=case.id, latest=True)
    threading = answer_threading(latest)
    recipient = _recipient(case, latest=latest)
    service = session.get(Service, case.service_id) if case.service_id else None
    sender = _sender_address(session, case=case, settings=settings)
    email = OutgoingEmail(
        sender=ParsedAddress(
            name=service.name if service else settings.prefecture.name, address=sender
        ),
        to=(recipient,),
        subject=subject,
        text=text,
        html=html,
        message_id=new_message_id(sender_address=sender),
        date=datetime.now(settings.tzinfo),
        in_reply_to=threading.in_reply_to,
        references=threading.references,
        attachments=attachments,
    )
    (outbox_id,) = queue_emails(
        session,
        emails=[EmailToQueue(email, purpose, case.id)],
        file_store=FileStore(settings.file_store_dir),
    )
    return outbox_id, recipient


def _recipient(case: Case, *, latest: Message | None) -> ParsedAddress:
    """The citizen's Reply-To, else their address; a case without one cannot be e-mailed."""
    for name, value in latest.headers if latest else []:
        if str(name).lower() == "reply-to":
            found = parse_addresses(str(value), where="reply-to", defects=Defects())
            if found:
                return ParsedAddress(name=found[0].name or None, address=found[0].address)
    if case.sender_email:
        return ParsedAddress(name=case.sender_name, address=case.sender_email)
    raise CaseInputError(
        f"Le dossier {case.reference} n'a pas d'adresse électronique : répondez par courrier."
    )


def _body(
    session: Session,
    *,
    case: Case,
    text: str | None,
    canned_reply_id: int | None,
    context: dict[str, Any],
    settings: Settings,
) -> str:
    """The agent's text, or the canned reply filled with the case's values."""
    if canned_reply_id is None:
        if not text or not text.strip():
            raise CaseInputError("La réponse est vide : saisissez un texte ou une réponse type.")
        return text
    canned = case_canned_reply(session, case=case, canned_reply_id=canned_reply_id)
    if canned is None:
        raise CaseInputError(f"Aucune réponse type n° {canned_reply_id} pour ce dossier.")
    try:
        return render_canned_reply(canned, context=context, settings=settings)
    except TemplateRenderError as error:
        raise CaseInputError(str(error)) from error


def case_canned_reply(session: Session, *, case: Case, canned_reply_id: int) -> CannedReply | None:
    """The canned reply if it is the case's service's (or every service's); else None."""
    canned = session.get(CannedReply, canned_reply_id)
    if canned is None or canned.service_id not in {None, case.service_id}:
        return None
    return canned


def render_canned_reply(
    canned: CannedReply, *, context: Mapping[str, Any], settings: Settings
) -> str:
    """The canned reply's text filled with these values (TemplateRenderError if one is missing)."""
    return render_text(
        settings=settings,
        source=canned.body,
        name=f"réponse type « {canned.title} »",
        context=context,
    )


def canned_reply_values(
    case: Case, *, actor: User, service: Service | None, variables: Mapping[str, str]
) -> dict[str, Any]:
    """What a canned reply may use (the case, the agent, the service) and the agent's variables."""
    return {
        **variables,
        "reference": case.reference,
        "subject": case.subject,
        "citizen_name": case.sender_name or "",
        "agent": {"first_name": actor.first_name, "last_name": actor.last_name},
        "service": {"name": service.name if service else ""},
    }


def _subject(case: Case) -> str:
    """Re: the case's subject, with its reference, so an answer threads even without headers."""
    subject = case.subject if case.subject.lower().startswith("re:") else f"Re: {case.subject}"
    marker = f"[{case.reference}]"
    return subject if marker in subject else f"{subject} {marker}"


def _sender_address(session: Session, *, case: Case, settings: Settings) -> str:
    """The functional mailbox the case came through, else the préfecture's address."""
    mailbox = session.get(Mailbox, case.mailbox_id) if case.mailbox_id else None
    return mailbox.address if mailbox else settings.prefecture.email


def _signature(actor: User, *, service: Service | None, settings: Settings) -> str:
    """First name, surname and title of the agent, and their service (CRPA L111-2)."""
    lines = [f"{actor.first_name} {actor.last_name}"]
    if actor.title:
        lines.append(actor.title)
    if service:
        lines.append(service.name)
    lines.append(settings.prefecture.name)
    return "\n".join(lines)
