"""/api/v1/audit: administrators search the audit trail and export it as CSV."""

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from backend.audit.repository import AuditFilters, actor_emails, search_events
from backend.audit.schemas import AuditEventPublic, AuditPagePublic
from backend.audit.service import record
from backend.database import SessionDep
from backend.indicators.exports import csv_bytes
from backend.models import AuditEvent
from backend.users.dependencies import AdminDep
from backend.validation import RowId, Text

router = APIRouter(prefix="/audit", tags=["journal"])

CSV_COLUMNS = [
    "id",
    "date",
    "acteur",
    "action",
    "dossier",
    "objet",
    "n° objet",
    "modifications",
    "détails",
    "adresse IP",
]


@router.get(
    "",
    response_model=AuditPagePublic,
    responses={200: {"content": {"text/csv": {}}}},
)
def read_audit(
    session: SessionDep,
    admin: AdminDep,
    action: Annotated[
        Text | None, Query(max_length=64, description="Action, ou son début : « case. ».")
    ] = None,
    actor: Annotated[Text | None, Query(max_length=320, description="Adresse de l'agent.")] = None,
    case_id: RowId | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: Annotated[RowId | None, Query(description="Page suivante : next_before_id.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    export_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Who did what and when, newest first; as CSV, every matching event (the export is traced)."""
    filters = AuditFilters(
        action=action, actor_email=actor, case_id=case_id, since=since, until=until
    )
    if export_format == "csv":
        events = search_events(session, filters=filters, before_id=None, limit=None)
        record(
            session,
            action="audit.exported",
            actor=admin,
            object_type="export",
            details={"events": len(events), "filters": _described(filters)},
        )
        return Response(
            _csv(session, events),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="journal-qualipref.csv"'},
        )
    events = search_events(session, filters=filters, before_id=before_id, limit=limit + 1)
    page = AuditPagePublic(
        items=[AuditEventPublic.model_validate(event) for event in events[:limit]],
        next_before_id=events[limit - 1].id if len(events) > limit else None,
    )
    return Response(page.model_dump_json(), media_type="application/json")


def _csv(session: SessionDep, events: Sequence[AuditEvent]) -> bytes:
    """One line per event, the acting agent by e-mail address."""
    emails = actor_emails(
        session, user_ids={event.actor_user_id for event in events if event.actor_user_id}
    )
    lines = [CSV_COLUMNS]
    for event in events:
        actor = emails.get(event.actor_user_id or 0) or event.actor_label or ""
        lines.append(
            [
                str(event.id),
                event.occurred_at.isoformat(),
                actor,
                event.action,
                "" if event.case_id is None else str(event.case_id),
                event.object_type or "",
                event.object_id or "",
                json.dumps(event.changes, ensure_ascii=False),
                json.dumps(event.details, ensure_ascii=False),
                event.ip_address or "",
            ]
        )
    return csv_bytes(lines)


def _described(filters: AuditFilters) -> dict[str, str]:
    """The filters of an export, to say what it held."""
    return {name: str(value) for name, value in asdict(filters).items() if value is not None}
