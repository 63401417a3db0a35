"""The append-only audit trail: who did what, when, with before and after values."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from backend.models.fields import foreign_key, json_field, timestamp_field


class AuditEvent(SQLModel, table=True):
    """One action on the system; a case's timeline is its events."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_case_id_occurred_at", "case_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = timestamp_field(now=True, index=True)
    actor_user_id: int | None = foreign_key("users.id")
    # Who acted when it was no user: "system:poller", "system:retention", ...
    actor_label: str | None = Field(default=None, max_length=100)
    action: str = Field(max_length=64, index=True)
    case_id: int | None = foreign_key("cases.id", index=False)
    object_type: str | None = Field(default=None, max_length=64)
    object_id: str | None = Field(default=None, max_length=64)
    # {"field": [before, after]} for the fields the action changed.
    changes: dict[str, Any] = json_field(default_factory=dict)
    details: dict[str, Any] = json_field(default_factory=dict)
    ip_address: str | None = Field(default=None, max_length=45)
