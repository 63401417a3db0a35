"""Who is looking at a page: the signed-in user of the session cookie, or a trip to /connexion."""

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from sqlmodel import Session

from backend.cases.service import CaseNotFoundError, load_case
from backend.config import Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.models import Case, User, UserRole
from backend.users.access import Viewer
from backend.users.dependencies import (
    authenticated_user,
    bearer_token,
    csrf_protect,
    session_cookie,
)
from backend.users.sessions import csrf_token
from backend.validation import RowId
from backend.web.templating import PageUser

SIGN_IN_PATH = "/connexion"
CASE_NOT_FOUND = "Ce dossier n'existe pas, ou vous n'y avez pas accès."


class SignInRequiredError(Exception):
    """The page needs a signed-in user; they go to the sign-in page, then come back."""

    def __init__(self, *, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def sign_in_url(self) -> str:
        """Where to send them."""
        return f"{SIGN_IN_PATH}?suivant={quote(self.next_path, safe='/')}"


def page_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)],
    session_token: Annotated[str | None, Depends(session_cookie)],
    _csrf: Annotated[None, Depends(csrf_protect)],
) -> PageUser:
    """The signed-in user; a form or htmx change must carry the session's CSRF token.

    A personal API token opens the pages too (scripts, and the route-table tests), as it
    opens the API.
    """
    user = authenticated_user(session, credentials=credentials, session_token=session_token)
    if user is None:
        next_path = request.url.path if request.method == "GET" else "/dossiers"
        raise SignInRequiredError(next_path=next_path)
    token = (
        csrf_token(session_token=session_token, settings=settings)
        if session_token and credentials is None
        else ""
    )
    return PageUser(user=user, viewer=Viewer.of(session, user=user), csrf_token=token)


PageUserDep = Annotated[PageUser, Depends(page_user)]


def role_required(*roles: UserRole) -> object:
    """A dependency that lets only these roles through (403 for the others)."""

    def check(page: PageUserDep) -> PageUser:
        if not page.has_role(*roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail="Cette page est réservée à d'autres profils."
            )
        return page

    return Depends(check)


QUALITY_ROLES = (UserRole.QUALITY_MANAGER, UserRole.ADMIN)
AdminPageDep = Annotated[PageUser, role_required(UserRole.ADMIN)]
QualityPageDep = Annotated[PageUser, role_required(*QUALITY_ROLES)]


def page_case(session: SessionDep, page: PageUserDep, case_id: RowId) -> Case:
    """The case of the path if the user may see it; else the 404 page (nothing leaks)."""
    try:
        return load_case(session, case_id=case_id, viewer=page.viewer)
    except CaseNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=CASE_NOT_FOUND) from error


PageCaseDep = Annotated[Case, Depends(page_case)]


@dataclass(frozen=True, slots=True)
class CaseRequest:
    """A request on a case's pages: who, on which case, in which request."""

    request: Request
    session: Session
    settings: Settings
    page: PageUser
    case: Case

    @property
    def actor(self) -> User:
        """The signed-in user."""
        return self.page.user

    @property
    def is_htmx(self) -> bool:
        """Whether htmx asks (for a fragment) rather than the browser (for a page)."""
        return self.request.headers.get("HX-Request") == "true"


def case_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    page: PageUserDep,
    case: PageCaseDep,
) -> CaseRequest:
    """The request's context: the CSRF token checked and the case loaded (or 404) first."""
    return CaseRequest(request=request, session=session, settings=settings, page=page, case=case)


CaseRequestDep = Annotated[CaseRequest, Depends(case_request)]
