"""Composing an acknowledgement from its case, just before it is first sent."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from backend.cases.threading import answer_threading, incoming_message
from backend.config import Settings
from backend.letters.context import prefecture_context, service_context
from backend.letters.rendering import TemplateRenderError, render_email
from backend.mail.compose import OutgoingEmail, compose_email
from backend.mail.message import ParsedAddress
from backend.models import (
    NO_SUBJECT,
    Case,
    Mailbox,
    MailboxKind,
    OutboxEmail,
    Service,
)
from backend.outbox.composition import ComposedEmail, CompositionError

TEMPLATE_BY_MAILBOX_KIND = {
    MailboxKind.CONTACT: "accuse-reception-contact",
    MailboxKind.SEJOUR: "accuse-reception-sejour",
    MailboxKind.QUALITE: "accuse-reception-qualite",
    MailboxKind.OTHER: "accuse-reception-contact",
}
# Every automatic reply says it is one (RFC 3834) and asks Exchange not to answer it.
AUTOMATIC_REPLY_HEADERS = (
    ("Auto-Submitted", "auto-replied"),
    ("X-Auto-Response-Suppress", "All"),
    ("Content-Language", "fr"),
)


def compose_acknowledgement(
    session: Session, outbox: OutboxEmail, settings: Settings
) -> ComposedEmail:
    """The acknowledgement of the outbox row's case, from its mailbox kind's templates."""
    case = session.get(Case, outbox.case_id)
    mailbox = session.get(Mailbox, case.mailbox_id) if case and case.mailbox_id else None
    if case is None or mailbox is None:
        raise CompositionError("accusé de réception sans dossier ni boîte aux lettres")
    assert case.id is not None
    threading = answer_threading(incoming_message(session, case_id=case.id, latest=False))
    template = TEMPLATE_BY_MAILBOX_KIND[mailbox.kind]
    try:
        rendered = render_email(
            settings=settings,
            template=template,
            context=_template_context(case, mailbox=mailbox, session=session, settings=settings),
        )
    except TemplateRenderError as error:
        raise CompositionError(str(error)) from error
    email = OutgoingEmail(
        sender=ParsedAddress(name=settings.prefecture.name, address=outbox.from_address),
        to=tuple(ParsedAddress(name=None, address=address) for address in outbox.recipients),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=outbox.rfc_message_id,
        date=datetime.now(settings.tzinfo),
        in_reply_to=threading.in_reply_to,
        references=threading.references,
        extra_headers=AUTOMATIC_REPLY_HEADERS,
    )
    return ComposedEmail(subject=email.subject, raw=compose_email(email))


def _template_context(
    case: Case, *, mailbox: Mailbox, session: Session, settings: Settings
) -> dict[str, Any]:
    """What the acknowledgement templates are given (see letter_templates/README.md)."""
    service = session.get(Service, case.service_id) if case.service_id else None
    return {
        "reference": case.reference,
        "citizen_subject": case.subject or NO_SUBJECT,
        "received_at": case.received_at,
        "delay_days": settings.delay_targets.email,
        "mailbox": {"kind": mailbox.kind.value, "address": mailbox.address},
        "service": service_context(service, settings=settings, email=mailbox.address),
        "prefecture": prefecture_context(settings),
    }
