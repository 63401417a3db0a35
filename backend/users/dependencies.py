"""Who is calling: the user of a personal API token, or of a browser session cookie."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.models import User, UserRole
from backend.users.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    csrf_matches,
    user_for_session,
)
from backend.users.tokens import user_for_token

bearer_token = HTTPBearer(auto_error=False, description="Jeton d'API personnel (qp_…)")
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Session ouverte par /auth/login"
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def csrf_protect(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)],
    session_token: Annotated[str | None, Depends(session_cookie)],
) -> None:
    """A change made with a session cookie must carry the session's CSRF token.

    A token in the Authorization header is never sent by a browser on its own, so requests
    authenticated by one need no CSRF token.
    """
    if request.method in SAFE_METHODS or credentials is not None or session_token is None:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        field = (await request.form()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not csrf_matches(given=given, session_token=session_token, settings=settings):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=(
                f"Jeton CSRF absent ou invalide : envoyez l'en-tête {CSRF_HEADER} "
                "donné par /auth/me."
            ),
        )


def authenticated_user(
    session: Session,
    *,
    credentials: HTTPAuthorizationCredentials | None,
    session_token: str | None,
) -> User | None:
    """The user of a personal API token, else of a session cookie; None if neither is valid."""
    if credentials is not None:
        return user_for_token(session, token=credentials.credentials)
    if session_token is not None:
        return user_for_session(session, token=session_token)
    return None


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)],
    session_token: Annotated[str | None, Depends(session_cookie)],
    _csrf: Annotated[None, Depends(csrf_protect)],
) -> User:
    """The authenticated user, or 401."""
    user = authenticated_user(session, credentials=credentials, session_token=session_token)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=(
                "Authentification requise : connectez-vous, ou donnez un jeton d'API valide "
                "et non révoqué."
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUserDep = Annotated[User, Depends(current_user)]


def administrator(user: CurrentUserDep) -> User:
    """The authenticated user if an administrator, else 403."""
    if user.role is not UserRole.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Réservé aux administrateurs.")
    return user


AdminDep = Annotated[User, Depends(administrator)]
