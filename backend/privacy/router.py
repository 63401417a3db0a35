"""/api/v1/citizens: a citizen's data exported or erased on request (administrators), traced."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.audit.service import record
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.models.types import utc_now
from backend.privacy.citizens import citizen_archive, citizen_cases
from backend.privacy.schemas import CitizenErase, CitizenErased
from backend.privacy.service import anonymise_cases
from backend.privacy.tasks import DELETE_FILES_TASK
from backend.storage.filestore import FileStore
from backend.users.dependencies import AdminDep
from backend.validation import Text
from workers.enqueue import enqueue_after_commit

router = APIRouter(prefix="/citizens", tags=["droits des personnes"])

Email = Annotated[Text, Query(min_length=3, max_length=320, description="Adresse du demandeur.")]


@router.get(
    "/export", response_class=Response, responses={200: {"content": {"application/zip": {}}}}
)
def export_citizen(
    session: SessionDep, settings: SettingsDep, admin: AdminDep, email: Email
) -> Response:
    """Everything held about this address, as a zip archive (right of access)."""
    cases = citizen_cases(session, email=email)
    archive = citizen_archive(session, cases=cases, store=FileStore(settings.file_store_dir))
    record(
        session,
        action="citizen.exported",
        actor=admin,
        object_type="citizen",
        details={"email": email.strip().lower(), "cases": [case.reference for case in cases]},
    )
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="donnees-personnelles.zip"'},
    )


@router.post("/erase", response_model=CitizenErased)
def erase_citizen(
    session: SessionDep,
    admin: AdminDep,
    request: CitizenErase,
) -> CitizenErased:
    """Erase this address's personal data from every case (right to erasure); dates stay."""
    cases = citizen_cases(session, email=request.email)
    files = anonymise_cases(session, cases=cases, now=utc_now())
    references = [case.reference for case in cases]
    record(
        session,
        action="citizen.erased",
        actor=admin,
        object_type="citizen",
        details={"cases": references, "files": len(files)},
    )
    enqueue_after_commit(session, task_name=DELETE_FILES_TASK, kwargs={"digests": sorted(files)})
    return CitizenErased(references=references)
