"""Signing in and out with a password, who is signed in (/auth), and the accounts
(/api/v1/users, administrators)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.models import Service, ServiceMembership, User
from backend.users.dependencies import AdminDep, CurrentUserDep, csrf_protect, session_cookie
from backend.users.schemas import LoginRequest, MePublic, UserCreate, UserPublic, UserUpdate
from backend.users.service import (
    LoginRefusedError,
    UserInputError,
    authenticate,
    create_user,
    service_ids_of,
    update_user,
)
from backend.users.sessions import csrf_token, sign_in, sign_out
from backend.validation import RowId

router = APIRouter(prefix="/auth", tags=["connexion"])


@router.post(
    "/login",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: {"description": "Refusé"}, 429: {"description": "Compte verrouillé"}},
)
def login(
    session: SessionDep, settings: SettingsDep, credentials: LoginRequest, request: Request
) -> Response:
    """Open a browser session; the cookie comes with the answer."""
    ip_address = request.client.host if request.client else None
    try:
        user = authenticate(
            session,
            email=credentials.email,
            password=credentials.password,
            settings=settings,
            ip_address=ip_address,
        )
    except LoginRefusedError as refused:
        # Answered, not raised: the request's transaction commits the failure count.
        locked = refused.retry_after is not None
        return JSONResponse(
            {"detail": str(refused)},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS if locked else 401,
            headers={"Retry-After": str(refused.retry_after)} if locked else None,
        )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    sign_in(
        session,
        user=user,
        response=response,
        settings=settings,
        method="password",
        ip_address=ip_address,
    )
    return response


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(csrf_protect)],
)
def logout(
    session: SessionDep, session_token: Annotated[str | None, Depends(session_cookie)]
) -> Response:
    """End the browser session."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if session_token is not None:
        sign_out(session, token=session_token, response=response)
    return response


@router.get("/me", response_model=MePublic)
def me(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    request: Request,
    session_token: Annotated[str | None, Depends(session_cookie)],
) -> MePublic:
    """The signed-in user; with a session, the CSRF token its changes must carry."""
    services = session.exec(
        select(Service.name)
        .join(ServiceMembership, col(ServiceMembership.service_id) == col(Service.id))
        .where(col(ServiceMembership.user_id) == user.id)
        .order_by(col(Service.name))
    ).all()
    by_cookie = session_token is not None and "authorization" not in request.headers
    assert user.id is not None
    return MePublic(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        role=user.role,
        services=list(services),
        csrf_token=(
            csrf_token(session_token=session_token, settings=settings)
            if by_cookie and session_token
            else None
        ),
    )


users_router = APIRouter(prefix="/users", tags=["comptes"])


@users_router.get("", response_model=list[UserPublic])
def read_users(session: SessionDep, admin: AdminDep) -> list[UserPublic]:
    """Every account with its role and services (administrators)."""
    users = session.exec(select(User).order_by(col(User.email))).all()
    return [_user_public(session, user) for user in users]


@users_router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def add_user(session: SessionDep, admin: AdminDep, user_in: UserCreate) -> UserPublic:
    """Create an account in some services (administrators)."""
    with _refused_as_422():
        user = create_user(session, user_in=user_in, actor=admin)
    return _user_public(session, user)


@users_router.patch("/{user_id}", response_model=UserPublic)
def change_user(
    session: SessionDep, admin: AdminDep, user_id: RowId, user_in: UserUpdate
) -> UserPublic:
    """Change an account's role, state, names or services (administrators)."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Aucun compte n° {user_id}.")
    with _refused_as_422():
        update_user(session, user=user, user_in=user_in, actor=admin)
    return _user_public(session, user)


def _user_public(session: SessionDep, user: User) -> UserPublic:
    assert user.id is not None
    return UserPublic.model_validate(
        {
            **user.model_dump(),
            "service_ids": service_ids_of(session, user_id=user.id),
            "has_password": user.password_hash is not None,
            "uses_proconnect": user.oidc_subject is not None,
        }
    )


@contextmanager
def _refused_as_422() -> Iterator[None]:
    try:
        yield
    except UserInputError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
