"""Signing in with a password (or ProConnect) and out, from the browser."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.users.service import LoginRefusedError, authenticate
from backend.users.sessions import SESSION_COOKIE, sign_in, sign_out
from backend.web.dependencies import PageUserDep
from backend.web.templating import render

router = APIRouter(include_in_schema=False)
HOME = "/dossiers"


def _local_path(path: str | None) -> str:
    """Where to go after signing in: a path of this site only, never another site."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return HOME
    return path


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    """The inbox is the home page."""
    return RedirectResponse(HOME, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/connexion", response_class=HTMLResponse)
def sign_in_page(request: Request, settings: SettingsDep, suivant: str | None = None) -> Response:
    """The sign-in form."""
    return render(
        request,
        "auth/sign_in.html",
        page_user=None,
        context={"next_path": _local_path(suivant), "oidc_enabled": settings.oidc.enabled},
    )


@router.post("/connexion", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    suivant: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Check the password; open the session and go on, or show the form again with why."""
    ip_address = request.client.host if request.client else None
    try:
        user = authenticate(
            session, email=email, password=password, settings=settings, ip_address=ip_address
        )
    except LoginRefusedError as refused:
        locked = refused.retry_after is not None
        return render(
            request,
            "auth/sign_in.html",
            page_user=None,
            context={
                "next_path": _local_path(suivant),
                "oidc_enabled": settings.oidc.enabled,
                "error": str(refused),
                "email": email,
            },
            status_code=status.HTTP_429_TOO_MANY_REQUESTS if locked else 401,
        )
    response = RedirectResponse(_local_path(suivant), status_code=status.HTTP_303_SEE_OTHER)
    sign_in(
        session,
        user=user,
        response=response,
        settings=settings,
        method="password",
        ip_address=ip_address,
    )
    return response


@router.post("/deconnexion", response_class=RedirectResponse)
def sign_out_form(request: Request, session: SessionDep, _page: PageUserDep) -> Response:
    """End the session (the form carries the CSRF token) and return to the sign-in page."""
    response = RedirectResponse("/connexion", status_code=status.HTTP_303_SEE_OTHER)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        sign_out(session, token=token, response=response)
    return response
