"""Generating a standard letter on a case: preview, PDF, and sending by e-mail or by post.

Everything is rendered (and the PDF made) before anything is written, so a template error
sends and records nothing. A sent letter is recorded with its template version and values;
its effect follows: a substantive answer answers the case, a request for documents makes it
wait for the citizen.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from backend.cases import service as cases
from backend.cases.replies import queue_case_email
from backend.cases.workflow import ALLOWED_FROM, Operation, check_operation
from backend.config import Settings
from backend.letters.appointments import (
    GivenSlot,
    NoFreeSlotError,
    appointment_values,
    give_next_slot,
    next_free_slot,
)
from backend.letters.context import letter_context
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import RenderedLetter, render_letter
from backend.letters.templates import (
    LetterChannel,
    LetterEffect,
    LetterTemplate,
    LetterTemplateError,
    agent_values,
    letter_template,
)
from backend.mail.compose import OutgoingAttachment
from backend.models import (
    AnswerChannel,
    Case,
    CaseStatus,
    Letter,
    LetterDelivery,
    OutboxPurpose,
    Service,
    User,
)
from backend.models.types import utc_now
from backend.storage.filestore import FileStore

# The operation of the case's lifecycle a letter with this effect is, so its status must allow.
LETTER_OPERATIONS = {
    LetterEffect.ANSWER: Operation.REPLY,
    LetterEffect.REQUEST_DOCUMENTS: Operation.REQUEST_DOCUMENTS,
    LetterEffect.ACKNOWLEDGE: Operation.NOTE,
}


def letter_allowed(template: LetterTemplate, *, status: CaseStatus) -> bool:
    """Whether a case in this status may be sent the letter (one without effect always may)."""
    return template.effect is None or status in ALLOWED_FROM[LETTER_OPERATIONS[template.effect]]


@dataclass(frozen=True, slots=True)
class PreparedLetter:
    """A letter rendered for a case, before it is sent."""

    template: LetterTemplate
    values: dict[str, object]
    rendered: RenderedLetter


def prepare_letter(
    session: Session,
    *,
    case: Case,
    template_name: str,
    values: dict[str, object],
    actor: User,
    settings: Settings,
    today: date | None = None,
    appointment: GivenSlot | None = None,
) -> PreparedLetter:
    """The letter rendered with the case's details and the agent's values (checked)."""
    template = letter_template(settings, template_name)
    if appointment is not None:
        values = values | appointment_values(appointment, settings=settings)
    checked = agent_values(template, values)
    context = letter_context(
        session, case=case, signatory=actor, settings=settings, today=today or settings.today()
    )
    rendered = render_letter(settings=settings, template=template.name, context=context | checked)
    return PreparedLetter(template=template, values=checked, rendered=rendered)


def send_letter(
    session: Session,
    *,
    case: Case,
    template_name: str,
    values: dict[str, object],
    channel: LetterChannel,
    actor: User,
    settings: Settings,
    posted_on: date | None = None,
    take_next_slot: bool = False,
    request_id: str | None = None,
) -> Letter:
    """Render, record and send (or post) the letter, then apply its effect on the case.

    With take_next_slot, the appointment is the service's next free slot, given to the case
    in the same transaction (a failure further on gives it back).
    """
    prepared = prepare_letter(
        session,
        case=case,
        template_name=template_name,
        values=values,
        actor=actor,
        settings=settings,
        today=posted_on,
        appointment=_given_slot(session, case=case) if take_next_slot else None,
    )
    template = prepared.template
    if channel not in template.channels:
        raise LetterTemplateError(
            f"Le modèle « {template.name} » ne s'envoie pas par {_CHANNEL_NAMES[channel]}."
        )
    if template.effect is not None:
        check_operation(LETTER_OPERATIONS[template.effect], status=case.status)
    pdf = letter_pdf(prepared.rendered.document)
    stored = FileStore(settings.file_store_dir).put_bytes(pdf)
    assert case.id is not None
    letter = Letter(
        case_id=case.id,
        template_name=template.name,
        template_version=template.version,
        variables={name: cases.jsonable(value) for name, value in prepared.values.items()},
        created_by_id=actor.id,
        pdf_sha256=stored.sha256,
        pdf_size=stored.size,
        delivery=LetterDelivery(channel.value),
        request_id=request_id,
    )
    sent_at = _deliver(
        session,
        letter=letter,
        prepared=prepared,
        case=case,
        pdf=pdf,
        settings=settings,
        posted_on=posted_on,
    )
    session.add(letter)
    session.flush()
    _apply_effect(
        session,
        prepared=prepared,
        case=case,
        channel=channel,
        actor=actor,
        settings=settings,
        sent_at=sent_at,
    )
    cases.record_letter(
        session,
        case=case,
        actor=actor,
        details={"letter_id": letter.id, "template": template.name, "delivery": channel.value},
    )
    return letter


def _deliver(
    session: Session,
    *,
    letter: Letter,
    prepared: PreparedLetter,
    case: Case,
    pdf: bytes,
    settings: Settings,
    posted_on: date | None,
) -> datetime | None:
    """Queue the e-mail with the PDF, or note the posting; the moment known to be sent."""
    if letter.delivery is LetterDelivery.POST:
        letter.sent_at = cases.moment_of(
            posted_on or settings.today(), settings=settings, what="La date d'envoi"
        )
        return letter.sent_at
    rendered = prepared.rendered
    answers = prepared.template.effect is LetterEffect.ANSWER
    outbox_id, _ = queue_case_email(
        session,
        case=case,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        # An answering letter is a reply: answered when the relay accepts it, as replies are.
        purpose=OutboxPurpose.REPLY if answers else OutboxPurpose.LETTER,
        settings=settings,
        attachments=(
            OutgoingAttachment(
                filename=f"{case.reference}-{prepared.template.name}.pdf",
                content_type="application/pdf",
                content=pdf,
            ),
        ),
    )
    letter.outbox_email_id = outbox_id
    return None


def _apply_effect(
    session: Session,
    *,
    prepared: PreparedLetter,
    case: Case,
    channel: LetterChannel,
    actor: User,
    settings: Settings,
    sent_at: datetime | None,
) -> None:
    """What sending the letter does to the case."""
    effect = prepared.template.effect
    if effect is LetterEffect.ANSWER:
        cases.answer_case(
            session,
            case=case,
            channel=AnswerChannel.EMAIL if channel is LetterChannel.EMAIL else AnswerChannel.LETTER,
            at=sent_at,
            actor=actor,
            settings=settings,
            details={"template": prepared.template.name},
        )
    elif effect is LetterEffect.REQUEST_DOCUMENTS:
        documents = prepared.values.get("documents")
        cases.request_documents(
            session,
            case=case,
            documents=[str(item) for item in documents] if isinstance(documents, list) else [],
            actor=actor,
            settings=settings,
            at=sent_at or utc_now(),
        )
    elif effect is LetterEffect.ACKNOWLEDGE and case.acknowledged_at is None:
        case.acknowledged_at = sent_at or utc_now()


def preview_slot(session: Session, *, case: Case) -> GivenSlot:
    """The slot the letter would give, without giving it (for a preview)."""
    slot = next_free_slot(session, service_id=case.service_id or 0)
    if slot is None or slot.id is None:
        raise NoFreeSlotError(
            f"Aucun créneau de rendez-vous libre pour le service {_service_name(session, case)}."
        )
    return GivenSlot(slot_id=slot.id, starts_at=slot.starts_at, place=slot.place)


def _given_slot(session: Session, *, case: Case) -> GivenSlot:
    return give_next_slot(session, case=case, service_name=_service_name(session, case))


def _service_name(session: Session, case: Case) -> str:
    service = session.get(Service, case.service_id) if case.service_id else None
    return service.name if service else "(aucun service attribué)"


_CHANNEL_NAMES = {LetterChannel.EMAIL: "courriel", LetterChannel.POST: "courrier"}
