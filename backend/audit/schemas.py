"""The audit trail as the API shows it."""

from pydantic import BaseModel

from backend.cases.schemas import EventPublic


class AuditEventPublic(EventPublic):
    """One event of the trail, with what it concerned and where from."""

    case_id: int | None
    object_type: str | None
    object_id: str | None
    ip_address: str | None


class AuditPagePublic(BaseModel):
    """A page of events, newest first, and where the next page starts."""

    items: list[AuditEventPublic]
    next_before_id: int | None
