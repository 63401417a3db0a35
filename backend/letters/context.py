"""What every template is given about the case, the citizen, the service and the signatory."""

from datetime import date
from typing import Any

from sqlmodel import Session

from backend.cases.due_dates import target_days
from backend.config import Settings
from backend.models import Case, Mailbox, Service, User

# How a letter greets a citizen whose name is unknown (an anonymous slip, a bare address).
UNKNOWN_CITIZEN = "Madame, Monsieur"


def service_context(
    service: Service | None, *, settings: Settings, email: str | None = None
) -> dict[str, Any]:
    """The service in charge, the préfecture's details filling what it does not have."""
    identity = settings.prefecture
    return {
        "name": service.name if service else identity.name,
        "postal_address": (service and service.postal_address) or identity.postal_address,
        "email": (service and service.email) or email or identity.email,
        "phone": (service and service.phone) or identity.phone,
    }


def prefecture_context(settings: Settings) -> dict[str, Any]:
    """The préfecture's identity, for the brand block and the signature."""
    identity = settings.prefecture.model_dump(
        include={"name", "prefet_title", "postal_address", "phone", "email", "website"}
        | {"opening_hours", "department_name"}
    )
    logo = settings.prefecture.logo_path
    return identity | {"logo_url": logo.resolve().as_uri() if logo else ""}


def letter_context(
    session: Session, *, case: Case, signatory: User, settings: Settings, today: date
) -> dict[str, Any]:
    """The variables every letter template has, whatever the agent fills in."""
    service = session.get(Service, case.service_id) if case.service_id else None
    mailbox = session.get(Mailbox, case.mailbox_id) if case.mailbox_id else None
    return {
        "reference": case.reference,
        "today": today,
        "case": {
            "reference": case.reference,
            "subject": case.subject,
            "received_on": case.received_on,
            "received_at": case.received_at,
            "channel": case.channel.value,
            "kind": case.kind.value,
            "delay_days": target_days(
                channel=case.channel, kind=case.kind, targets=settings.delay_targets
            ),
        },
        "citizen": {
            "name": case.sender_name or UNKNOWN_CITIZEN,
            "postal_address": case.sender_postal_address or "",
            "email": case.sender_email or "",
        },
        "service": service_context(
            service, settings=settings, email=mailbox.address if mailbox else None
        ),
        # CRPA L111-2: the first name, surname and title of the agent who signs.
        "signatory": {
            "first_name": signatory.first_name,
            "last_name": signatory.last_name,
            "title": signatory.title or "",
        },
        "prefecture": prefecture_context(settings),
    }
