"""Who is calling the API: the user a bearer token belongs to."""

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.database import SessionDep
from backend.models import User
from backend.users.tokens import user_for_token

_bearer = HTTPBearer(auto_error=False, description="Jeton d'API personnel (qp_…)")


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The authenticated user, or 401."""
    user = user_for_token(session, token=credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Authentification requise : jeton d'API absent, invalide ou révoqué.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUserDep = Annotated[User, Depends(current_user)]
