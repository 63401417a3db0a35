"""Signing in with a password: the session cookie, CSRF, lockout, and nothing secret kept."""

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from backend.models import AuditEvent, User
from backend.models.types import utc_now
from backend.users.sessions import CSRF_HEADER, SESSION_COOKIE
from tests.fixtures.users import make_agent

PASSWORD = "correct horse battery staple"
PAPER_LETTER = {"channel": "paper", "subject": "Demande de rendez-vous", "sender_name": "M. Durand"}


def test_signing_in_sets_a_secure_httponly_samesite_cookie(
    session: Session, browser: TestClient
) -> None:
    agent = make_agent(session, password=PASSWORD)

    response = browser.post("/auth/login", json={"email": agent.user.email, "password": PASSWORD})

    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
    me = browser.get("/auth/me").json()
    assert (me["email"], me["role"]) == (agent.user.email, "agent")
    assert len(me["csrf_token"]) == 64


def test_a_change_without_the_csrf_token_is_refused(session: Session, browser: TestClient) -> None:
    agent = make_agent(session, password=PASSWORD)
    browser.post("/auth/login", json={"email": agent.user.email, "password": PASSWORD})
    token = browser.get("/auth/me").json()["csrf_token"]

    without = browser.post("/api/v1/cases/paper", json=PAPER_LETTER)
    wrong = browser.post("/api/v1/cases/paper", json=PAPER_LETTER, headers={CSRF_HEADER: "0" * 64})
    right = browser.post("/api/v1/cases/paper", json=PAPER_LETTER, headers={CSRF_HEADER: token})

    assert (without.status_code, wrong.status_code, right.status_code) == (403, 403, 201)
    assert "CSRF" in without.json()["detail"]


def test_an_api_token_needs_no_csrf_token(session: Session, browser: TestClient) -> None:
    agent = make_agent(session)

    response = browser.post("/api/v1/cases/paper", json=PAPER_LETTER, headers=agent.headers)

    assert response.status_code == 201


def test_repeated_failures_lock_the_account_for_a_growing_time(
    session: Session, browser: TestClient
) -> None:
    agent = make_agent(session, password=PASSWORD)
    wrong = {"email": agent.user.email, "password": "not the password"}

    failures = [browser.post("/auth/login", json=wrong).status_code for _ in range(5)]
    locked = browser.post("/auth/login", json={"email": agent.user.email, "password": PASSWORD})

    assert failures == [401] * 5
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert "verrouillé" in locked.json()["detail"]
    # Once the wait is over the right password opens a session, and the count starts again.
    agent.user.locked_until = utc_now() - timedelta(seconds=1)
    session.add(agent.user)
    right = browser.post("/auth/login", json={"email": agent.user.email, "password": PASSWORD})
    assert right.status_code == 204
    assert agent.user.failed_login_count == 0
    actions = session.exec(
        select(AuditEvent.action, AuditEvent.details).where(
            col(AuditEvent.actor_user_id) == agent.user.id
        )
    ).all()
    assert [action for action, _ in actions].count("user.login_failed") == 6
    assert [action for action, _ in actions][-1] == "user.login"


def test_an_unknown_address_is_told_the_same_as_a_wrong_password(
    session: Session, browser: TestClient
) -> None:
    agent = make_agent(session, password=PASSWORD)

    unknown = browser.post("/auth/login", json={"email": "nobody@gers.gouv.fr", "password": "x"})
    wrong = browser.post("/auth/login", json={"email": agent.user.email, "password": "x"})

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_signing_out_ends_the_session(session: Session, browser: TestClient) -> None:
    agent = make_agent(session, password=PASSWORD)
    browser.post("/auth/login", json={"email": agent.user.email, "password": PASSWORD})
    token = browser.get("/auth/me").json()["csrf_token"]
    cookie = browser.cookies[SESSION_COOKIE]

    assert browser.post("/auth/logout", headers={CSRF_HEADER: token}).status_code == 204

    assert SESSION_COOKIE not in browser.cookies
    replayed = browser.get("/auth/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert replayed.status_code == 401


def test_passwords_and_tokens_are_never_stored_in_clear(
    session: Session, browser: TestClient
) -> None:
    agent = make_agent(session, password=PASSWORD)
    browser.post("/auth/login", json={"email": agent.user.email, "password": PASSWORD})
    secrets = {
        "password": PASSWORD,
        "api token": agent.token,
        "session cookie": browser.cookies[SESSION_COOKIE],
    }

    stored = _every_stored_value(session)

    for name, secret in secrets.items():
        assert not any(secret in value for value in stored), f"the {name} is stored in clear"
    password_hash = session.exec(select(User.password_hash).where(User.id == agent.user.id)).one()
    assert (password_hash or "").startswith("$argon2id$")


def _every_stored_value(session: Session) -> list[str]:
    """Every value of every row of the tables that hold credentials, as text."""
    values: list[str] = []
    for table in ("users", "api_tokens", "user_sessions", "audit_events"):
        for row in session.execute(sa.text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed names
            values.extend(str(value) for value in row if value is not None)
    return values
