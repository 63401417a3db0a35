"""The versioned REST API: each domain adds its router under /api/v1."""

from fastapi import APIRouter
from pydantic import BaseModel

from backend import __version__
from backend.audit.router import router as audit_router
from backend.cases.router import canned_router
from backend.cases.router import router as cases_router
from backend.indicators.router import router as indicators_router
from backend.letters.router import letters_router, slots_router, templates_router
from backend.mailboxes.router import router as mailboxes_router
from backend.privacy.router import router as citizens_router
from backend.users.router import users_router

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(mailboxes_router)
api_router.include_router(cases_router)
api_router.include_router(canned_router)
api_router.include_router(indicators_router)
api_router.include_router(templates_router)
api_router.include_router(letters_router)
api_router.include_router(slots_router)
api_router.include_router(audit_router)
api_router.include_router(citizens_router)
api_router.include_router(users_router)


class VersionPublic(BaseModel):
    """The running version of Qualipref."""

    name: str
    version: str


@api_router.get("/version", response_model=VersionPublic, tags=["système"])
def read_version() -> VersionPublic:
    """Which Qualipref answers."""
    return VersionPublic(name="qualipref", version=__version__)
