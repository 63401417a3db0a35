"""OpenID Connect sign-in (ProConnect): discovery, PKCE, code exchange, token validation.

The browser keeps the attempt's state, nonce and PKCE verifier (see oidc_router); this module
talks to the provider over httpx, verifies what it answers and finds the agent's account.
Every refusal carries its message for the agent, in French.
"""

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.config import OidcSettings
from backend.models import User

logger = logging.getLogger(__name__)

# Asymmetric signatures only (ProConnect offers RS256 and ES256): with HS256 the client secret,
# known to Qualipref, would be a signing key.
SIGNING_ALGORITHMS = ("RS256", "ES256")
# Clock difference tolerated between the provider and Qualipref.
CLOCK_SKEW_SECONDS = 60
# The discovery document and the keys are fetched again after this.
PROVIDER_CACHE_SECONDS = 3600.0
# A token signed by an unknown key (the provider rotated its keys) refetches the key set, but
# not more often than this: forged key ids must not make Qualipref hammer the provider.
JWKS_REFRESH_MIN_SECONDS = 60.0
PROVIDER_NAME = "ProConnect"

T = TypeVar("T")


class OidcError(Exception):
    """A sign-in that cannot go on; the message is for the agent."""

    status_code = 400


class ProviderError(OidcError):
    """The provider did not answer, or answered what Qualipref cannot use."""

    status_code = 502


class InvalidTokenError(OidcError):
    """A token whose signature or claims do not hold; `reason` says which check failed."""

    status_code = 401

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class AccountRefusedError(OidcError):
    """The identity is genuine but opens no Qualipref account."""

    status_code = 403


@dataclass(frozen=True)
class LoginFlow:
    """The secrets of one sign-in attempt, kept by the browser until the callback."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> "LoginFlow":
        """Fresh random values (ProConnect wants state and nonce of 32 characters at least)."""
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),
        )


@dataclass(frozen=True)
class ProviderMetadata:
    """The endpoints of the provider's discovery document that the sign-in uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None


@dataclass(frozen=True)
class TokenResponse:
    """What the token endpoint gives for an authorization code."""

    id_token: str
    access_token: str


@dataclass(frozen=True)
class OidcIdentity:
    """The agent the provider vouches for."""

    subject: str
    email: str
    given_name: str | None
    usual_name: str | None
    uid: str | None
    # Kept for a later logout at the provider (id_token_hint).
    id_token: str


@dataclass
class _CachedProvider:
    metadata: ProviderMetadata
    keys: KeySet
    fetched_at: float
    keys_fetched_at: float


_providers: dict[str, _CachedProvider] = {}
_providers_lock = threading.Lock()


def pkce_challenge(code_verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(settings: OidcSettings, *, flow: LoginFlow) -> str:
    """Where to send the browser to sign in at the provider."""
    endpoint = provider_metadata(settings).authorization_endpoint
    params = {
        "response_type": "code",
        "client_id": _required(settings.client_id),
        "redirect_uri": _required(settings.redirect_uri),
        "scope": settings.scopes,
        "state": flow.state,
        "nonce": flow.nonce,
        "code_challenge": pkce_challenge(flow.code_verifier),
        "code_challenge_method": "S256",
    }
    if settings.acr_values:
        params["acr_values"] = settings.acr_values
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


def complete_sign_in(settings: OidcSettings, *, code: str, flow: LoginFlow) -> OidcIdentity:
    """Exchange the code, verify the ID token and read the agent's claims."""
    tokens = exchange_code(settings, code=code, flow=flow)
    id_claims = _with_provider_keys(
        settings,
        lambda keys: validate_id_token(
            tokens.id_token,
            keys=keys,
            issuer=_required(settings.issuer),
            client_id=_required(settings.client_id),
            nonce=flow.nonce,
        ),
    )
    userinfo = _with_provider_keys(
        settings,
        lambda keys: fetch_userinfo(
            settings, access_token=tokens.access_token, keys=keys, subject=id_claims["sub"]
        ),
    )
    return _identity({**id_claims, **userinfo}, id_token=tokens.id_token)


def exchange_code(settings: OidcSettings, *, code: str, flow: LoginFlow) -> TokenResponse:
    """Trade the authorization code and the PKCE verifier for tokens (client_secret_post)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _required(settings.redirect_uri),
        "client_id": _required(settings.client_id),
        "client_secret": _required(settings.client_secret).get_secret_value(),
        "code_verifier": flow.code_verifier,
    }
    endpoint = provider_metadata(settings).token_endpoint
    try:
        with _http(settings) as http:
            response = http.post(endpoint, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise _unreachable("token", error) from error
    body = _json_object(response)
    if response.status_code != httpx.codes.OK:
        raise _token_refusal(response.status_code, body)
    return _token_response(body)


def validate_id_token(
    id_token: str,
    *,
    keys: KeySet,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, expiry and nonce hold."""
    claims = _verified_claims(id_token, keys=keys, what="jeton d'identité")
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    _validate_claims(registry, claims, what="jeton d'identité")
    _check_authorized_party(claims, client_id=client_id)
    return claims


def fetch_userinfo(
    settings: OidcSettings, *, access_token: str, keys: KeySet, subject: str
) -> dict[str, Any]:
    """The agent's claims from the userinfo endpoint, a signed JWT (ProConnect) or JSON."""
    endpoint = provider_metadata(settings).userinfo_endpoint
    if endpoint is None:
        raise ProviderError(f"{PROVIDER_NAME} n'annonce pas de point d'accès userinfo.")
    try:
        with _http(settings) as http:
            response = http.get(
                endpoint,
                headers={
                    "Authorization": f"Bearer {access_token}",
                    "Accept": "application/jwt, application/json",
                },
            )
    except httpx.HTTPError as error:
        raise _unreachable("userinfo", error) from error
    if response.status_code != httpx.codes.OK:
        logger.warning("OIDC userinfo answered %s: %.300s", response.status_code, response.text)
        raise ProviderError(f"{PROVIDER_NAME} n'a pas transmis les informations du compte.")
    claims = _userinfo_claims(response, settings=settings, keys=keys)
    # OpenID Connect Core 5.3.2: the claims must be about the ID token's subject.
    if claims.get("sub") != subject:
        raise InvalidTokenError(
            f"Les informations transmises par {PROVIDER_NAME} ne concernent pas l'agent "
            "connecté : recommencez la connexion.",
            reason="userinfo_subject",
        )
    return claims


def user_for_identity(session: Session, *, identity: OidcIdentity) -> User:
    """The existing active account of the agent's e-mail, linked to their `sub` on first use."""
    users = session.exec(
        select(User).where(func.lower(col(User.email)) == identity.email.lower()).limit(2)
    ).all()
    if not users:
        raise AccountRefusedError(
            f"Aucun compte Qualipref n'existe pour l'adresse {identity.email} : demandez à "
            "l'administrateur de Qualipref de votre préfecture de vous en créer un."
        )
    if len(users) > 1:
        raise AccountRefusedError(
            f"Plusieurs comptes Qualipref portent l'adresse {identity.email} : "
            "l'administrateur de Qualipref doit n'en garder qu'un."
        )
    user = users[0]
    if not user.is_active:
        raise AccountRefusedError(
            f"Le compte Qualipref de {identity.email} est désactivé : adressez-vous à "
            "l'administrateur de Qualipref de votre préfecture."
        )
    _check_or_link_subject(session, user=user, subject=identity.subject)
    return user


def provider_metadata(settings: OidcSettings) -> ProviderMetadata:
    """The provider's discovery document, fetched once an hour."""
    return _provider(settings).metadata


def provider_keys(settings: OidcSettings, *, refresh: bool = False) -> KeySet:
    """The provider's signing keys; `refresh` fetches them again unless that was just done."""
    with _providers_lock:
        cached = _cached_provider(settings)
        stale = time.monotonic() - cached.keys_fetched_at >= JWKS_REFRESH_MIN_SECONDS
        if refresh and stale:
            cached.keys = _fetch_keys(cached.metadata.jwks_uri, settings=settings)
            cached.keys_fetched_at = time.monotonic()
        return cached.keys


def forget_providers() -> None:
    """Drop the cached discovery documents and keys (a configuration change, tests)."""
    with _providers_lock:
        _providers.clear()


def _provider(settings: OidcSettings) -> _CachedProvider:
    with _providers_lock:
        return _cached_provider(settings)


def _cached_provider(settings: OidcSettings) -> _CachedProvider:
    """The cache entry of the configured issuer, fetched when missing or old; lock held."""
    issuer = _required(settings.issuer)
    cached = _providers.get(issuer)
    if cached is not None and time.monotonic() - cached.fetched_at < PROVIDER_CACHE_SECONDS:
        return cached
    metadata = _discover(settings)
    now = time.monotonic()
    cached = _CachedProvider(
        metadata=metadata,
        keys=_fetch_keys(metadata.jwks_uri, settings=settings),
        fetched_at=now,
        keys_fetched_at=now,
    )
    _providers[issuer] = cached
    return cached


def _discover(settings: OidcSettings) -> ProviderMetadata:
    issuer = _required(settings.issuer)
    document = _get_json(
        issuer.rstrip("/") + "/.well-known/openid-configuration",
        settings=settings,
        what="document de découverte",
    )
    # OpenID Connect Discovery 4.3: the document must name exactly the configured issuer.
    if document.get("issuer") != issuer:
        logger.error("OIDC discovery names issuer %r, not %r", document.get("issuer"), issuer)
        raise ProviderError(
            f"{PROVIDER_NAME} annonce un autre émetteur que celui configuré "
            "(QUALIPREF_OIDC__ISSUER) : connexion impossible."
        )
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint"),
        token_endpoint=_endpoint(document, "token_endpoint"),
        jwks_uri=_endpoint(document, "jwks_uri"),
        userinfo_endpoint=_optional_endpoint(document, "userinfo_endpoint"),
        end_session_endpoint=_optional_endpoint(document, "end_session_endpoint"),
    )


def _fetch_keys(jwks_uri: str, *, settings: OidcSettings) -> KeySet:
    document = _get_json(jwks_uri, settings=settings, what="clés de signature")
    try:
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as error:
        logger.error("OIDC JWKS at %s unusable: %s", jwks_uri, error)
        raise ProviderError(
            f"Les clés de signature publiées par {PROVIDER_NAME} sont illisibles."
        ) from error


def _with_provider_keys(settings: OidcSettings, verify: Callable[[KeySet], T]) -> T:
    """Verify with the cached keys; a token of an unknown key refetches them once."""
    try:
        return verify(provider_keys(settings))
    except InvalidTokenError as error:
        if error.reason != "unknown_key":
            raise
    return verify(provider_keys(settings, refresh=True))


def _verified_claims(token: str, *, keys: KeySet, what: str) -> dict[str, Any]:
    """The claims of a JWS whose signature one of the keys verifies, with an allowed algorithm."""
    try:
        return jwt.decode(token, keys, algorithms=SIGNING_ALGORITHMS).claims
    except InvalidKeyIdError as error:
        raise InvalidTokenError(
            f"Le {what} est signé par une clé inconnue de {PROVIDER_NAME}.", reason="unknown_key"
        ) from error
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise InvalidTokenError(
            f"La signature du {what} est invalide : connexion refusée.", reason="signature"
        ) from error


def _validate_claims(registry: jwt.JWTClaimsRegistry, claims: dict[str, Any], *, what: str) -> None:
    try:
        registry.validate(claims)
    except ExpiredTokenError as error:
        raise InvalidTokenError(
            f"Le {what} a expiré : recommencez la connexion.", reason="expired"
        ) from error
    except ClaimError as error:
        claim = error.claim
        raise InvalidTokenError(_claim_message(claim, what=what), reason=claim) from error


def _claim_message(claim: str, *, what: str) -> str:
    if claim == "nonce":
        return (
            f"Le {what} ne correspond pas à cette tentative de connexion (nonce) : "
            "recommencez la connexion."
        )
    if claim == "iss":
        return f"Le {what} n'a pas été émis par le fournisseur d'identité configuré."
    if claim == "aud":
        return f"Le {what} est destiné à une autre application que Qualipref."
    return f"Le {what} est invalide (donnée « {claim} ») : connexion refusée."


def _check_authorized_party(claims: dict[str, Any], *, client_id: str) -> None:
    """OpenID Connect Core 3.1.3.7: with several audiences, azp must be Qualipref."""
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    if (several or "azp" in claims) and claims.get("azp") != client_id:
        raise InvalidTokenError(_claim_message("azp", what="jeton d'identité"), reason="azp")


def _userinfo_claims(
    response: httpx.Response, *, settings: OidcSettings, keys: KeySet
) -> dict[str, Any]:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/jwt":
        claims = _verified_claims(response.text.strip(), keys=keys, what="jeton userinfo")
        # A signed answer names its issuer and audience (Core 5.3.2): both must be ours.
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_SKEW_SECONDS,
            iss={"value": _required(settings.issuer)},
            aud={"value": _required(settings.client_id)},
        )
        _validate_claims(registry, claims, what="jeton userinfo")
        return claims
    if content_type == "application/json":
        body = _json_object(response)
        if body is not None:
            return body
    raise ProviderError(f"{PROVIDER_NAME} a répondu dans un format inattendu (userinfo).")


def _identity(claims: dict[str, Any], *, id_token: str) -> OidcIdentity:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise AccountRefusedError(
            f"{PROVIDER_NAME} n'a pas transmis votre adresse électronique : connexion impossible."
        )
    return OidcIdentity(
        subject=claims["sub"],
        email=email.strip(),
        given_name=_optional_text(claims, "given_name"),
        usual_name=_optional_text(claims, "usual_name"),
        uid=_optional_text(claims, "uid"),
        id_token=id_token,
    )


def _check_or_link_subject(session: Session, *, user: User, subject: str) -> None:
    """Keep the first `sub` seen for the account; another one afterwards is refused."""
    if user.oidc_subject is not None:
        if not hmac.compare_digest(user.oidc_subject, subject):
            raise AccountRefusedError(
                f"Le compte Qualipref de {user.email} est lié à une autre identité "
                f"{PROVIDER_NAME} : adressez-vous à l'administrateur de Qualipref de votre "
                "préfecture."
            )
        return
    holder = session.exec(select(User).where(col(User.oidc_subject) == subject)).first()
    if holder is not None:
        raise AccountRefusedError(
            f"Cette identité {PROVIDER_NAME} est déjà liée au compte Qualipref de "
            f"{holder.email} : adressez-vous à l'administrateur de Qualipref de votre préfecture."
        )
    user.oidc_subject = subject
    session.add(user)
    session.flush()


def _token_response(body: dict[str, Any] | None) -> TokenResponse:
    body = body or {}
    id_token, access_token = body.get("id_token"), body.get("access_token")
    bearer = str(body.get("token_type", "")).lower() == "bearer"
    if not (isinstance(id_token, str) and isinstance(access_token, str) and bearer):
        raise ProviderError(f"{PROVIDER_NAME} n'a pas remis les jetons attendus.")
    return TokenResponse(id_token=id_token, access_token=access_token)


def _token_refusal(status_code: int, body: dict[str, Any] | None) -> OidcError:
    error = str((body or {}).get("error", ""))
    logger.warning("OIDC token endpoint answered %s %s", status_code, body)
    # invalid_grant: the code expired (30 s at ProConnect), was used already, or the PKCE
    # verifier does not match; anything else is Qualipref's registration or the provider.
    if error == "invalid_grant":
        return OidcError(
            f"{PROVIDER_NAME} a refusé le code de connexion (expiré ou déjà utilisé) : "
            "recommencez la connexion."
        )
    return ProviderError(
        f"{PROVIDER_NAME} a refusé l'échange du code ({error or status_code}) : "
        "vérifiez la configuration OIDC de Qualipref."
    )


def _get_json(url: str, *, settings: OidcSettings, what: str) -> dict[str, Any]:
    try:
        with _http(settings) as http:
            response = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise _unreachable(what, error) from error
    body = _json_object(response)
    if response.status_code != httpx.codes.OK or body is None:
        logger.error("OIDC %s at %s answered %s", what, url, response.status_code)
        raise ProviderError(f"{PROVIDER_NAME} ne répond pas correctement ({what}).")
    return body


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _http(settings: OidcSettings) -> httpx.Client:
    # Never follow redirects: every endpoint comes from the verified discovery document.
    return httpx.Client(timeout=settings.http_timeout_seconds, follow_redirects=False)


def _unreachable(what: str, error: httpx.HTTPError) -> ProviderError:
    logger.warning("OIDC provider unreachable (%s): %s", what, error)
    return ProviderError(
        f"{PROVIDER_NAME} ne répond pas ({what}) : réessayez dans quelques minutes."
    )


def _endpoint(document: dict[str, Any], name: str) -> str:
    value = _optional_endpoint(document, name)
    if value is None:
        raise ProviderError(f"Le document de découverte de {PROVIDER_NAME} n'indique pas {name}.")
    return value


def _optional_endpoint(document: dict[str, Any], name: str) -> str | None:
    value = document.get(name)
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def _optional_text(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def _required(value: T | None) -> T:
    """A setting the OIDC settings validator guarantees once the issuer is set."""
    if value is None:
        raise OidcError("La connexion par ProConnect n'est pas configurée.")
    return value
