"""What the case API reads and writes."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from backend.models import AnswerChannel, CaseChannel, CaseKind, CaseStatus, OutboxStatus
from backend.validation import Day, PartialUpdate, RequestBody, RowId


class CasePublic(BaseModel):
    """A case with its timestamps and where it stands against its due date."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    channel: CaseChannel
    kind: CaseKind
    suggested_kind: CaseKind | None
    status: CaseStatus
    mailbox_id: int | None
    service_id: int | None
    assignee_id: int | None
    subject: str
    sender_name: str | None
    sender_email: str | None
    sender_postal_address: str | None
    received_at: datetime
    registered_at: datetime
    acknowledged_at: datetime | None
    acknowledgement_skip_reason: str | None
    holding_reply_at: datetime | None
    holding_reply_delay_days: int | None
    answered_at: datetime | None
    answer_channel: AnswerChannel | None
    closed_at: datetime | None
    due_date: date | None
    needs_attention: bool
    attention_reason: str | None
    merged_into_id: int | None
    version: int
    working_days_elapsed: int = Field(
        description="Jours ouvrés écoulés depuis la réception, ou jusqu'à la réponse."
    )
    days_left: int | None = Field(
        description="Jours ouvrés restants avant l'échéance (négatif : jours de retard) ; "
        "absent une fois le dossier répondu ou clos."
    )
    allowed_operations: list[str]


class AttachmentPublic(BaseModel):
    """A file carried by a message; its content is downloaded separately."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str | None
    content_type: str
    size: int
    is_inline: bool


class MessagePublic(BaseModel):
    """One e-mail or letter of the case, its HTML sanitised."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str
    rfc_message_id: str
    subject: str
    from_name: str | None
    from_address: str | None
    to_addresses: list[str]
    received_at: datetime
    body_text: str
    body_html: str | None
    parse_error: str | None
    attachments: list[AttachmentPublic]


class OutboxEmailPublic(BaseModel):
    """An e-mail sent or to send on the case."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    purpose: str
    status: OutboxStatus
    recipients: list[str]
    subject: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


class LetterPublic(BaseModel):
    """A standard letter generated on the case."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    template_name: str
    created_at: datetime
    created_by_id: int | None
    delivery: str | None
    sent_at: datetime | None
    pdf_size: int | None


class EventPublic(BaseModel):
    """One step of the case's timeline."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_user_id: int | None
    actor_label: str | None
    action: str
    changes: dict[str, Any]
    details: dict[str, Any]


class WaitingPeriodPublic(BaseModel):
    """A time the case waited for the citizen."""

    model_config = ConfigDict(from_attributes=True)

    started_at: datetime
    ended_at: datetime | None


class CaseDetail(CasePublic):
    """A case with its thread, outgoing mail, waiting periods and timeline."""

    messages: list[MessagePublic]
    letters: list[LetterPublic]
    outbox: list[OutboxEmailPublic]
    waiting_periods: list[WaitingPeriodPublic]
    events: list[EventPublic]


class PaperMailCreate(RequestBody):
    """A letter (courrier) or suggestion-box slip (urne) to register."""

    channel: Literal[CaseChannel.PAPER, CaseChannel.SUGGESTION_BOX] = CaseChannel.PAPER
    received_on: Day | None = Field(
        default=None, description="Date du cachet de réception ; aujourd'hui par défaut."
    )
    sender_name: str = Field(min_length=1, max_length=320)
    sender_postal_address: str | None = None
    sender_email: EmailStr | None = None
    subject: str = Field(min_length=1, max_length=1000)
    kind: CaseKind | None = None


class ClassifyRequest(BaseModel):
    """The kind an agent confirms or chooses."""

    kind: CaseKind


class AssignRequest(BaseModel):
    """A service and, optionally, one of its agents."""

    service_id: RowId | None = None
    assignee_id: RowId | None = None


class StatusRequest(BaseModel):
    """A direct status change."""

    status: CaseStatus


class HoldingReplyRequest(BaseModel):
    """A reply that announces how long the processing will take."""

    announced_delay_days: int = Field(ge=1, le=365)


class AnsweredElsewhereRequest(BaseModel):
    """An answer given by phone, by post or in person."""

    channel: Literal[AnswerChannel.PHONE, AnswerChannel.POST, AnswerChannel.IN_PERSON]
    answered_on: Day


class DocumentsRequest(RequestBody):
    """The documents the citizen is asked for."""

    documents: list[str] = Field(min_length=1)


class NoteRequest(RequestBody):
    """An internal note."""

    text: str = Field(min_length=1, max_length=20_000)


class CaseListPublic(BaseModel):
    """A page of cases, where the next one starts, and (first page) the counts per status."""

    items: list[CasePublic]
    next_cursor: str | None = Field(
        description="À passer en paramètre cursor pour la page suivante ; absent en fin de liste."
    )
    counts: dict[str, int] | None = Field(
        description="Nombre de dossiers par statut pour ces filtres (première page seulement)."
    )


class ReplyRequest(RequestBody):
    """An e-mail reply: the agent's text, or a canned reply with its variables."""

    text: str | None = Field(default=None, max_length=100_000)
    canned_reply_id: RowId | None = None
    variables: dict[str, str] = Field(
        default_factory=dict, description="Valeurs des variables propres à la réponse type."
    )


class CannedReplyCreate(RequestBody):
    """A reusable reply text; {{ reference }}, {{ citizen_name }}… are filled from the case."""

    service_id: RowId | None = Field(default=None, description="Aucun : pour tous les services.")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=100_000)


class CannedReplyUpdate(PartialUpdate):
    """The fields of a canned reply to change."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=100_000)


class CannedReplyPublic(CannedReplyCreate):
    """A canned reply as the library lists it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    updated_at: datetime


class MergeRequest(BaseModel):
    """The case to merge into this one, at the version the agent read."""

    source_case_id: RowId
    source_version: int
