"""Recording an action in the append-only audit trail."""

from typing import Any

from sqlmodel import Session

from backend.models import AuditEvent, User

# Reading is traced too; these events say who saw what, not what happened to a case.
READ_ACTIONS = ("case.viewed", "attachment.downloaded", "letter.downloaded")


def record(
    session: Session,
    *,
    action: str,
    actor: User | None,
    actor_label: str | None = None,
    case_id: int | None = None,
    object_type: str | None = None,
    object_id: object = None,
    changes: dict[str, list[Any]] | None = None,
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> None:
    """Add one event: the actor is a user, or a label such as "system:retention"."""
    session.add(
        AuditEvent(
            actor_user_id=actor.id if actor is not None else None,
            actor_label=actor_label,
            action=action,
            case_id=case_id,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            changes=changes or {},
            details=details or {},
            ip_address=ip_address,
        )
    )
