"""Signing in through OpenID Connect (ProConnect), against a real provider running locally."""

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from pydantic import SecretStr
from sqlmodel import Session, func, select

from backend.config import Settings, get_settings
from backend.database import get_session
from backend.main import create_app
from backend.models import User
from backend.users import oidc
from backend.users.oidc_router import FLOW_COOKIE, open_flow, seal_flow
from backend.users.sessions import SESSION_COOKIE
from tests.fixtures.oidc import (
    CLAIRE,
    CLAIRE_OTHER_IDP,
    CLIENT_ID,
    CLIENT_SECRET,
    JSON_USERINFO_CLIENT_ID,
    REDIRECT_URI,
    SIGNING_KEY_ID,
    STRANGER,
    OidcAccount,
    OidcProvider,
    authorize,
    free_port,
)

NONCE = "n0nce-of-the-attempt-0123456789abcdefghij"


@pytest.fixture
def oidc_settings(settings: Settings, oidc_provider: OidcProvider) -> Settings:
    """The run's settings with sign-in through the test provider."""
    return settings.model_copy(update={"oidc": oidc_provider.settings()})


def browser_for(session: Session, settings: Settings) -> TestClient:
    """A browser on the application (https, for its Secure cookies), in the test's transaction."""
    app = create_app()

    def _test_session() -> Iterator[Session]:
        yield session

    app.dependency_overrides[get_session] = _test_session
    app.dependency_overrides[get_settings] = lambda: settings
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def browser(session: Session, oidc_settings: Settings) -> Iterator[TestClient]:
    """The agent's browser on Qualipref, with ProConnect configured."""
    with browser_for(session, oidc_settings) as client:
        yield client


def add_user(session: Session, *, email: str, is_active: bool = True) -> User:
    """An account of the test's transaction."""
    user = User(email=email, first_name="Claire", last_name="Martin", is_active=is_active)
    session.add(user)
    session.flush()
    return user


def sign_in_through_provider(browser: TestClient, *, account: OidcAccount) -> str:
    """Start at /auth/oidc/login, sign in at the provider: the callback URL, not yet visited."""
    started = browser.get("/auth/oidc/login")
    assert started.status_code == 302, started.text
    return authorize(started.headers["location"], account=account)


def callback_path(callback_url: str) -> str:
    """The path and query of a callback URL, for the test client."""
    parts = urlsplit(callback_url)
    return f"{parts.path}?{parts.query}"


def set_cookies(response: Any) -> list[str]:
    """Every Set-Cookie header of a response."""
    headers: list[str] = response.headers.get_list("set-cookie")
    return headers


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, one value each."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    """The URL with some query parameters replaced."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query_of(url), **changes})))


# Sign-in through the provider's real authorization, token and userinfo endpoints.


def test_login_redirects_to_the_provider_with_pkce_state_and_nonce(
    browser: TestClient, oidc_provider: OidcProvider, oidc_settings: Settings
) -> None:
    response = browser.get("/auth/oidc/login")

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(f"{oidc_provider.issuer}/auth?")
    params = query_of(location)
    flow = open_flow(browser.cookies[FLOW_COOKIE], settings=oidc_settings)
    assert params == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email given_name usual_name uid",
        "state": flow.state,
        "nonce": flow.nonce,
        "code_challenge": oidc.pkce_challenge(flow.code_verifier),
        "code_challenge_method": "S256",
    }
    assert len(flow.state) >= 32
    assert len(flow.nonce) >= 32
    [cookie] = set_cookies(response)
    assert cookie.startswith(f"{FLOW_COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/auth/oidc", "Max-Age=600"):
        assert attribute in cookie


@pytest.mark.parametrize("client_id", [CLIENT_ID, JSON_USERINFO_CLIENT_ID])
def test_sign_in_opens_a_session_for_the_existing_account(
    session: Session, oidc_provider: OidcProvider, settings: Settings, client_id: str
) -> None:
    # The account's address differs in case from the provider's: matched all the same.
    user = add_user(session, email="Claire.Martin@Gers.gouv.fr")
    configured = settings.model_copy(update={"oidc": oidc_provider.settings(client_id=client_id)})
    with browser_for(session, configured) as browser:
        callback = sign_in_through_provider(browser, account=CLAIRE)
        response = browser.get(callback_path(callback))

        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/"
        cookies = set_cookies(response)
        assert any(cookie.startswith(f"{SESSION_COOKIE}=") for cookie in cookies)
        assert any(cookie.startswith(f'{FLOW_COOKIE}=""') for cookie in cookies)
        me = browser.get("/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "Claire.Martin@Gers.gouv.fr"
    session.refresh(user)
    assert user.oidc_subject == CLAIRE.sub
    assert user.last_login_at is not None


def test_a_second_sign_in_with_the_same_subject_is_accepted(
    browser: TestClient, session: Session
) -> None:
    user = add_user(session, email=CLAIRE.email)
    user.oidc_subject = CLAIRE.sub
    session.add(user)
    session.flush()

    response = browser.get(callback_path(sign_in_through_provider(browser, account=CLAIRE)))

    assert response.status_code == 303, response.text
    assert browser.get("/auth/me").json()["email"] == CLAIRE.email


def test_an_unknown_address_is_refused_and_no_account_is_created(
    browser: TestClient, session: Session
) -> None:
    before = session.exec(select(func.count()).select_from(User)).one()

    response = browser.get(callback_path(sign_in_through_provider(browser, account=STRANGER)))

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Aucun compte Qualipref n'existe pour l'adresse paul.inconnu@interieur.gouv.fr : "
        "demandez à l'administrateur de Qualipref de votre préfecture de vous en créer un."
    )
    assert not any(cookie.startswith(f"{SESSION_COOKIE}=") for cookie in set_cookies(response))
    assert session.exec(select(func.count()).select_from(User)).one() == before
    assert browser.get("/auth/me").status_code == 401


def test_a_disabled_account_is_refused(browser: TestClient, session: Session) -> None:
    add_user(session, email=CLAIRE.email, is_active=False)

    response = browser.get(callback_path(sign_in_through_provider(browser, account=CLAIRE)))

    assert response.status_code == 403
    assert "est désactivé" in response.json()["detail"]
    assert browser.get("/auth/me").status_code == 401


def test_another_subject_for_a_linked_address_is_refused(
    browser: TestClient, session: Session
) -> None:
    user = add_user(session, email=CLAIRE.email)
    first = browser.get(callback_path(sign_in_through_provider(browser, account=CLAIRE)))
    assert first.status_code == 303, first.text
    browser.cookies.clear()

    response = browser.get(
        callback_path(sign_in_through_provider(browser, account=CLAIRE_OTHER_IDP))
    )

    assert response.status_code == 403
    assert "est lié à une autre identité ProConnect" in response.json()["detail"]
    assert not any(cookie.startswith(f"{SESSION_COOKIE}=") for cookie in set_cookies(response))
    session.refresh(user)
    assert user.oidc_subject == CLAIRE.sub


def test_a_subject_linked_to_another_account_is_refused(
    browser: TestClient, session: Session
) -> None:
    add_user(session, email="claire.dupont@gers.gouv.fr").oidc_subject = CLAIRE.sub
    add_user(session, email=CLAIRE.email)
    session.flush()

    response = browser.get(callback_path(sign_in_through_provider(browser, account=CLAIRE)))

    assert response.status_code == 403
    assert (
        "déjà liée au compte Qualipref de claire.dupont@gers.gouv.fr" in response.json()["detail"]
    )


# The callback refuses what does not belong to the attempt this browser started.


def test_a_wrong_state_is_refused(browser: TestClient, session: Session) -> None:
    user = add_user(session, email=CLAIRE.email)
    callback = sign_in_through_provider(browser, account=CLAIRE)

    response = browser.get(callback_path(with_query(callback, state="x" * 43)))

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Le paramètre state ne correspond pas à la tentative de connexion en cours : "
        "connexion refusée, recommencez-la."
    )
    assert not any(cookie.startswith(f"{SESSION_COOKIE}=") for cookie in set_cookies(response))
    session.refresh(user)
    assert user.oidc_subject is None


def test_a_callback_without_the_attempt_cookie_is_refused(
    browser: TestClient, session: Session
) -> None:
    add_user(session, email=CLAIRE.email)
    callback = sign_in_through_provider(browser, account=CLAIRE)
    browser.cookies.clear()

    response = browser.get(callback_path(callback))

    assert response.status_code == 400
    assert "Aucune tentative de connexion en cours" in response.json()["detail"]


@pytest.mark.parametrize("forgery", ["other_secret", "expired"])
def test_a_forged_or_expired_attempt_cookie_is_refused(
    browser: TestClient, session: Session, oidc_settings: Settings, forgery: str
) -> None:
    add_user(session, email=CLAIRE.email)
    callback = sign_in_through_provider(browser, account=CLAIRE)
    flow = open_flow(browser.cookies[FLOW_COOKIE], settings=oidc_settings)
    if forgery == "other_secret":
        other = oidc_settings.model_copy(update={"secret_key": SecretStr("another-secret-" * 3)})
        value = seal_flow(flow, settings=other)
    else:
        value = seal_flow(flow, settings=oidc_settings, now=int(time.time()) - 3600)
    browser.cookies.clear()
    browser.cookies.set(FLOW_COOKIE, value, domain="testserver.local", path="/auth/oidc")

    response = browser.get(callback_path(callback))

    assert response.status_code == 400
    assert "a expiré ou n'a pas été commencée dans ce navigateur" in response.json()["detail"]


def test_a_refusal_by_the_provider_is_reported(browser: TestClient) -> None:
    started = browser.get("/auth/oidc/login")
    state = query_of(started.headers["location"])["state"]

    response = browser.get("/auth/oidc/callback", params={"error": "access_denied", "state": state})

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "ProConnect n'a pas authentifié l'agent (access_denied) : connexion annulée."
    )


def test_a_response_naming_another_issuer_is_refused(browser: TestClient, session: Session) -> None:
    add_user(session, email=CLAIRE.email)
    callback = sign_in_through_provider(browser, account=CLAIRE)

    response = browser.get(callback_path(with_query(callback, iss="https://pirate.example")))

    assert response.status_code == 400
    assert "ne vient pas de ProConnect" in response.json()["detail"]


def test_a_code_cannot_be_used_twice_nor_without_its_pkce_verifier(
    oidc_provider: OidcProvider,
) -> None:
    configured = oidc_provider.settings()
    flow = oidc.LoginFlow.new()
    code = query_of(authorize(oidc.authorization_url(configured, flow=flow), account=CLAIRE))[
        "code"
    ]
    wrong_verifier = oidc.LoginFlow(
        state=flow.state, nonce=flow.nonce, code_verifier=oidc.LoginFlow.new().code_verifier
    )

    with pytest.raises(oidc.OidcError, match="expiré ou déjà utilisé"):
        oidc.exchange_code(configured, code=code, flow=wrong_verifier)
    assert oidc.exchange_code(configured, code=code, flow=flow).id_token
    with pytest.raises(oidc.OidcError, match="expiré ou déjà utilisé"):
        oidc.exchange_code(configured, code=code, flow=flow)


def test_login_without_configuration_answers_404(session: Session, settings: Settings) -> None:
    with browser_for(session, settings) as browser:
        response = browser.get("/auth/oidc/login")

    assert response.status_code == 404
    assert response.json()["detail"] == (
        "La connexion par ProConnect n'est pas configurée sur cette installation."
    )


def test_an_unreachable_provider_is_reported(
    session: Session, settings: Settings, oidc_provider: OidcProvider
) -> None:
    unreachable = oidc_provider.settings().model_copy(
        update={"issuer": f"http://127.0.0.1:{free_port()}"}
    )
    with browser_for(session, settings.model_copy(update={"oidc": unreachable})) as browser:
        response = browser.get("/auth/oidc/login")

    assert response.status_code == 502
    assert "ProConnect ne répond pas" in response.json()["detail"]


# ID tokens: the provider's own, and forgeries, given to the validation directly.


def real_tokens(oidc_provider: OidcProvider) -> tuple[oidc.TokenResponse, oidc.LoginFlow]:
    """Tokens the provider issued through its authorization and token endpoints."""
    configured = oidc_provider.settings()
    flow = oidc.LoginFlow.new()
    callback = authorize(oidc.authorization_url(configured, flow=flow), account=CLAIRE)
    tokens = oidc.exchange_code(configured, code=query_of(callback)["code"], flow=flow)
    return tokens, flow


@pytest.fixture
def provider_keys(oidc_provider: OidcProvider) -> KeySet:
    """The keys Qualipref fetched from the provider's JWKS."""
    return oidc.provider_keys(oidc_provider.settings())


def validate(
    token: str, *, provider: OidcProvider, keys: KeySet, nonce: str = NONCE, now: int | None = None
) -> dict[str, Any]:
    """The validation as the callback runs it, for the test provider's client."""
    return oidc.validate_id_token(
        token, keys=keys, issuer=provider.issuer, client_id=CLIENT_ID, nonce=nonce, now=now
    )


def forge(
    provider: OidcProvider,
    *,
    key: RSAKey | None = None,
    kid: str = SIGNING_KEY_ID,
    **changes: Any,
) -> str:
    """An ID token like the provider's, signed with its key unless another is given."""
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "aud": CLIENT_ID,
        "sub": CLAIRE.sub,
        "iat": now,
        "exp": now + 600,
        "nonce": NONCE,
        **changes,
    }
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key or provider.signing_key)


def refusal_reason(token: str, *, provider: OidcProvider, keys: KeySet, **options: Any) -> str:
    """Why the validation refuses the token (it must)."""
    with pytest.raises(oidc.InvalidTokenError) as refused:
        validate(token, provider=provider, keys=keys, **options)
    return refused.value.reason


def test_the_providers_id_token_is_valid_for_its_attempt_only(
    oidc_provider: OidcProvider, provider_keys: KeySet
) -> None:
    tokens, flow = real_tokens(oidc_provider)

    claims = validate(tokens.id_token, provider=oidc_provider, keys=provider_keys, nonce=flow.nonce)

    assert claims["sub"] == CLAIRE.sub
    assert claims["aud"] == CLIENT_ID
    # (b) The same genuine token, presented for another attempt: wrong nonce.
    assert (
        refusal_reason(tokens.id_token, provider=oidc_provider, keys=provider_keys, nonce=NONCE)
        == "nonce"
    )
    # (c) The same genuine token once expired (past the tolerated clock skew).
    after_expiry = claims["exp"] + oidc.CLOCK_SKEW_SECONDS + 1
    assert (
        refusal_reason(
            tokens.id_token,
            provider=oidc_provider,
            keys=provider_keys,
            nonce=flow.nonce,
            now=after_expiry,
        )
        == "expired"
    )


def test_a_token_forged_like_the_providers_is_valid(
    oidc_provider: OidcProvider, provider_keys: KeySet
) -> None:
    # The control of the forgeries below: each differs from this one in one respect.
    claims = validate(forge(oidc_provider), provider=oidc_provider, keys=provider_keys)

    assert claims["sub"] == CLAIRE.sub


def test_a_token_signed_by_another_key_is_refused(
    oidc_provider: OidcProvider, provider_keys: KeySet
) -> None:
    # (a) Another key under the provider's key id: the signature does not verify.
    other_key = RSAKey.generate_key(2048)

    token = forge(oidc_provider, key=other_key)

    assert refusal_reason(token, provider=oidc_provider, keys=provider_keys) == "signature"


def test_a_token_signed_by_an_unknown_key_is_refused(
    oidc_provider: OidcProvider, provider_keys: KeySet
) -> None:
    token = forge(oidc_provider, key=RSAKey.generate_key(2048), kid="cle-inconnue")

    assert refusal_reason(token, provider=oidc_provider, keys=provider_keys) == "unknown_key"


def test_a_token_signed_with_the_client_secret_is_refused(
    oidc_provider: OidcProvider, provider_keys: KeySet
) -> None:
    # HS256 with the shared secret: whoever knows the secret could sign; only RS256 and ES256.
    claims = jwt.decode(forge(oidc_provider), oidc_provider.signing_key).claims
    token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET))

    assert refusal_reason(token, provider=oidc_provider, keys=provider_keys) == "signature"


def test_an_unsigned_token_is_refused(oidc_provider: OidcProvider, provider_keys: KeySet) -> None:
    signed = forge(oidc_provider)
    payload = signed.split(".")[1]
    unsigned = f"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."  # {"alg":"none","typ":"JWT"}

    assert refusal_reason(unsigned, provider=oidc_provider, keys=provider_keys) == "signature"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"nonce": "another-attempt-nonce-0123456789abcdefghij"}, "nonce"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4200}, "expired"),
        ({"iss": "https://pirate.example"}, "iss"),
        ({"aud": "another-application"}, "aud"),
        ({"aud": [CLIENT_ID, "another-application"]}, "azp"),
        ({"iat": int(time.time()) + 3600}, "iat"),
    ],
    ids=["nonce", "expired", "issuer", "audience", "several-audiences", "issued-in-future"],
)
def test_a_token_signed_by_the_provider_with_altered_claims_is_refused(
    oidc_provider: OidcProvider, provider_keys: KeySet, changes: dict[str, Any], reason: str
) -> None:
    token = forge(oidc_provider, **changes)

    assert refusal_reason(token, provider=oidc_provider, keys=provider_keys) == reason


def test_a_token_without_nonce_is_refused(
    oidc_provider: OidcProvider, provider_keys: KeySet
) -> None:
    genuine = jwt.decode(forge(oidc_provider), oidc_provider.signing_key).claims
    claims = {name: value for name, value in genuine.items() if name != "nonce"}
    token = jwt.encode({"alg": "RS256", "kid": SIGNING_KEY_ID}, claims, oidc_provider.signing_key)

    assert refusal_reason(token, provider=oidc_provider, keys=provider_keys) == "nonce"
