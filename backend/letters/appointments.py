"""Appointment slots a service offers, given out one letter at a time."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select, update

from backend.config import Settings
from backend.models import AppointmentSlot, Case
from backend.models.types import utc_now

# A slot taken by a concurrent letter between the read and the update: try the next ones.
_ATTEMPTS = 5


class NoFreeSlotError(LookupError):
    """The service has no appointment slot left to give."""


@dataclass(frozen=True, slots=True)
class GivenSlot:
    """What a letter says of its appointment."""

    slot_id: int
    starts_at: datetime
    place: str


def next_free_slot(session: Session, *, service_id: int) -> AppointmentSlot | None:
    """The earliest slot of the service still to come and not given."""
    return session.exec(
        select(AppointmentSlot)
        .where(col(AppointmentSlot.service_id) == service_id)
        .where(col(AppointmentSlot.case_id).is_(None))
        .where(col(AppointmentSlot.starts_at) > utc_now())
        .order_by(col(AppointmentSlot.starts_at), col(AppointmentSlot.id))
    ).first()


def give_next_slot(session: Session, *, case: Case, service_name: str) -> GivenSlot:
    """Give the case the service's next free slot; NoFreeSlotError when none is left."""
    for _ in range(_ATTEMPTS):
        slot = next_free_slot(session, service_id=case.service_id or 0)
        if slot is None:
            break
        # Compare-and-set on a slot still free: a concurrent letter that took it first wins.
        given = session.execute(
            update(AppointmentSlot)
            .where(col(AppointmentSlot.id) == slot.id)
            .where(col(AppointmentSlot.case_id).is_(None))
            .values(case_id=case.id, given_at=utc_now())
        )
        if given.rowcount == 1:  # type: ignore[attr-defined]
            assert slot.id is not None
            return GivenSlot(slot_id=slot.id, starts_at=slot.starts_at, place=slot.place)
    raise NoFreeSlotError(f"Aucun créneau de rendez-vous libre pour le service {service_name}.")


def appointment_values(slot: GivenSlot, *, settings: Settings) -> dict[str, object]:
    """The letter's appointment variables, at the préfecture's time."""
    local = slot.starts_at.astimezone(settings.tzinfo)
    return {
        "appointment_date": local.date(),
        "appointment_time": local.time().replace(tzinfo=None),
        "appointment_place": slot.place,
    }
