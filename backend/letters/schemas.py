"""What the letters API reads and returns."""

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from backend.config import Settings
from backend.letters.templates import LetterChannel, LetterEffect, LetterTemplate, VariableType
from backend.validation import Day, Moment, RequestBody, RowId


class LetterVariablePublic(BaseModel):
    """A variable the agent fills in, so that a form can ask for it."""

    name: str
    type: VariableType
    label: str
    required: bool
    default: Any = None
    options: list[str] = Field(default_factory=list, description="Choix proposés (catalogue).")


class LetterTemplatePublic(BaseModel):
    """A standard letter on offer."""

    name: str
    title: str
    kinds: list[str]
    channels: list[LetterChannel]
    effect: LetterEffect | None
    version: str
    variables: list[LetterVariablePublic]

    @classmethod
    def from_template(cls, template: LetterTemplate, *, settings: Settings) -> Self:
        """The template with the catalogues its variables pick from."""
        return cls(
            name=template.name,
            title=template.title,
            kinds=list(template.kinds),
            channels=list(template.channels),
            effect=template.effect,
            version=template.version,
            variables=[
                LetterVariablePublic(
                    name=name,
                    type=spec.type,
                    label=spec.label,
                    required=spec.required,
                    default=spec.default,
                    options=list(getattr(settings, f"{spec.catalogue}_catalogue", []))
                    if spec.catalogue
                    else [],
                )
                for name, spec in template.asked.items()
            ],
        )


class LetterRequest(RequestBody):
    """A letter to preview or render: the template and the agent's values."""

    template: str = Field(examples=["demande-pieces"])
    values: dict[str, Any] = Field(
        default_factory=dict, examples=[{"documents": ["Passeport"], "deadline_days": 15}]
    )
    take_next_slot: bool = Field(
        default=False,
        description="Rendez-vous : le prochain créneau libre du service (date, heure, lieu).",
    )


class LetterSend(LetterRequest):
    """A letter to send by e-mail, or to record as posted."""

    channel: LetterChannel
    posted_on: Day | None = Field(
        default=None, description="Date d'envoi par la poste (défaut : aujourd'hui)."
    )


class AppointmentSlotsCreate(RequestBody):
    """Appointment slots a service opens, at one place."""

    service_id: RowId
    place: str = Field(min_length=1, max_length=2000, examples=["Guichet du séjour, Auch"])
    starts_at: list[Moment] = Field(min_length=1, max_length=1000)


class AppointmentSlotPublic(BaseModel):
    """An appointment slot, and the case it was given to."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    service_id: int
    starts_at: datetime
    place: str
    case_id: int | None
    given_at: datetime | None
