"""Celery tasks: retention every night, and the files an erasure left unreferenced."""

from celery import shared_task

from backend.config import get_settings
from backend.database import session_scope
from backend.models.types import utc_now
from backend.privacy.service import apply_retention, delete_stored_files

DELETE_FILES_TASK = "qualipref.delete_unreferenced_files"


@shared_task(name=DELETE_FILES_TASK)
def delete_unreferenced_files(digests: list[str]) -> int:
    """Delete the stored files an erasure left unreferenced; how many were deleted."""
    return delete_stored_files(digests=set(digests), settings=get_settings())


@shared_task(name="qualipref.apply_retention")
def apply_retention_task() -> dict[str, int]:
    """Anonymise the cases past retention, then delete the files they alone used."""
    settings = get_settings()
    with session_scope() as session:
        report = apply_retention(session, settings=settings, now=utc_now())
    files = delete_stored_files(digests=report.files_to_delete, settings=settings)
    return {
        "cases": len(report.case_references),
        "files": files,
        "audit_events": report.audit_events_deleted,
    }
