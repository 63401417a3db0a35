"""Who is looking at a page: the signed-in user of the session cookie, or a trip to /connexion."""

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.models import UserRole
from backend.users.access import Viewer
from backend.users.dependencies import (
    authenticated_user,
    bearer_token,
    csrf_protect,
    session_cookie,
)
from backend.users.sessions import csrf_token
from backend.web.templating import PageUser

SIGN_IN_PATH = "/connexion"


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
