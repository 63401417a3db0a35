"""GET /auth/oidc/login and /auth/oidc/callback: signing in through ProConnect.

Between the two, the attempt's state, nonce and PKCE verifier wait in the browser, in a
short-lived HttpOnly cookie signed with the secret key: nothing is stored server-side for a
sign-in that may never come back.
"""

import hashlib
import hmac
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from backend.config import OidcSettings, Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.users.oidc import (
    PROVIDER_NAME,
    LoginFlow,
    OidcError,
    authorization_url,
    complete_sign_in,
    user_for_identity,
)
from backend.users.sessions import sign_in

logger = logging.getLogger(__name__)

FLOW_COOKIE = "qualipref_oidc_flow"
FLOW_COOKIE_PATH = "/auth/oidc"
# Time for the agent to sign in at the provider (and the identity provider behind it).
FLOW_LIFETIME_SECONDS = 600
FLOW_ALGORITHM = "HS256"
AFTER_SIGN_IN = "/"

router = APIRouter(prefix="/auth/oidc", tags=["connexion"])


class FlowError(OidcError):
    """The callback does not belong to a sign-in this browser started."""


@router.get(
    "/login",
    status_code=status.HTTP_302_FOUND,
    responses={404: {"description": "ProConnect non configuré"}},
)
def oidc_login(settings: SettingsDep) -> Response:
    """Send the browser to ProConnect, remembering the attempt in a signed cookie."""
    if not settings.oidc.enabled:
        return _not_configured()
    flow = LoginFlow.new()
    try:
        url = authorization_url(settings.oidc, flow=flow)
    except OidcError as error:
        return _refusal(error, settings=settings)
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        FLOW_COOKIE,
        seal_flow(flow, settings=settings),
        max_age=FLOW_LIFETIME_SECONDS,
        path=FLOW_COOKIE_PATH,
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(
    "/callback",
    status_code=status.HTTP_303_SEE_OTHER,
    responses={
        400: {"description": "Tentative de connexion inconnue ou expirée"},
        401: {"description": "Jeton refusé"},
        403: {"description": "Aucun compte Qualipref actif pour cette identité"},
        404: {"description": "ProConnect non configuré"},
        502: {"description": "ProConnect injoignable"},
    },
)
def oidc_callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    iss: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Finish the sign-in: check the attempt, verify the identity, open the session."""
    if not settings.oidc.enabled:
        return _not_configured()
    try:
        flow = _matching_flow(request, settings=settings, state=state)
        code = _authorization_code(settings.oidc, code=code, iss=iss, error=error)
        identity = complete_sign_in(settings.oidc, code=code, flow=flow)
        user = user_for_identity(session, identity=identity)
    except OidcError as refused:
        return _refusal(refused, settings=settings)
    response = RedirectResponse(AFTER_SIGN_IN, status_code=status.HTTP_303_SEE_OTHER)
    sign_in(
        session,
        user=user,
        response=response,
        settings=settings,
        method="oidc",
        ip_address=request.client.host if request.client else None,
    )
    _forget_flow(response, settings=settings)
    return response


def seal_flow(flow: LoginFlow, *, settings: Settings, now: int | None = None) -> str:
    """The cookie value of a sign-in attempt: its secrets and expiry, signed."""
    issued = int(time.time()) if now is None else now
    claims = {
        "state": flow.state,
        "nonce": flow.nonce,
        "verifier": flow.code_verifier,
        "exp": issued + FLOW_LIFETIME_SECONDS,
    }
    return jwt.encode({"alg": FLOW_ALGORITHM}, claims, _flow_key(settings))


def open_flow(value: str, *, settings: Settings) -> LoginFlow:
    """The attempt a cookie value holds, if Qualipref signed it and it has not expired."""
    try:
        token = jwt.decode(value, _flow_key(settings), algorithms=[FLOW_ALGORITHM])
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(token.claims)
        claims = token.claims
        return LoginFlow(
            state=str(claims["state"]),
            nonce=str(claims["nonce"]),
            code_verifier=str(claims["verifier"]),
        )
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise FlowError(
            "Cette tentative de connexion a expiré ou n'a pas été commencée dans ce navigateur : "
            "recommencez la connexion."
        ) from error


def _matching_flow(request: Request, *, settings: Settings, state: str | None) -> LoginFlow:
    """The attempt of this browser, whose state the provider sent back (CSRF defence)."""
    value = request.cookies.get(FLOW_COOKIE)
    if not value:
        raise FlowError(
            "Aucune tentative de connexion en cours dans ce navigateur (cookie absent ou "
            "expiré) : recommencez la connexion."
        )
    flow = open_flow(value, settings=settings)
    if state is None or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise FlowError(
            "Le paramètre state ne correspond pas à la tentative de connexion en cours : "
            "connexion refusée, recommencez-la."
        )
    return flow


def _authorization_code(
    settings: OidcSettings, *, code: str | None, iss: str | None, error: str | None
) -> str:
    """The code the provider sent, after its refusal or a mix-up of providers is ruled out."""
    # RFC 9207: a provider that names itself must be the configured one.
    if iss is not None and iss != settings.issuer:
        raise FlowError(f"La réponse ne vient pas de {PROVIDER_NAME} : connexion refusée.")
    if error is not None:
        raise FlowError(
            f"{PROVIDER_NAME} n'a pas authentifié l'agent ({error}) : connexion annulée."
        )
    if not code:
        raise FlowError(f"{PROVIDER_NAME} n'a pas transmis de code de connexion.")
    return code


def _flow_key(settings: Settings) -> OctKey:
    """A key of its own for these cookies, derived from the secret key."""
    secret = settings.secret_key.get_secret_value().encode()
    derived = hmac.new(secret, b"qualipref oidc flow cookie", hashlib.sha256).digest()
    return OctKey.import_key(derived)


def _refusal(error: OidcError, *, settings: Settings) -> Response:
    """The French message with its status; the attempt is over, so is its cookie."""
    logger.info("OIDC sign-in refused (%s): %s", type(error).__name__, error)
    response = JSONResponse({"detail": str(error)}, status_code=error.status_code)
    _forget_flow(response, settings=settings)
    return response


def _forget_flow(response: Response, *, settings: Settings) -> None:
    response.delete_cookie(
        FLOW_COOKIE,
        path=FLOW_COOKIE_PATH,
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )


def _not_configured() -> Response:
    message = f"La connexion par {PROVIDER_NAME} n'est pas configurée sur cette installation."
    return JSONResponse({"detail": message}, status_code=status.HTTP_404_NOT_FOUND)
