"""Browser sessions: a random token in a Secure, HttpOnly, SameSite cookie, its SHA-256 in the
table, and a CSRF token derived from it that every state-changing request must carry."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import Response
from sqlmodel import Session, col, select

from backend.audit.service import record
from backend.config import Settings
from backend.models import User, UserSession
from backend.models.types import utc_now
from backend.users.tokens import token_digest

SESSION_COOKIE = "qualipref_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def sign_in(
    session: Session,
    *,
    user: User,
    response: Response,
    settings: Settings,
    method: str,
    ip_address: str | None = None,
) -> UserSession:
    """Open a browser session for the user: the cookie on the response, the login recorded."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    lifetime = timedelta(hours=settings.session_lifetime_hours)
    assert user.id is not None
    opened = UserSession(
        user_id=user.id,
        token_sha256=token_digest(token),
        method=method,
        created_at=now,
        expires_at=now + lifetime,
        ip_address=ip_address,
    )
    user.last_login_at = now
    user.failed_login_count = 0
    user.locked_until = None
    session.add_all([opened, user])
    record(
        session,
        action="user.login",
        actor=user,
        object_type="user",
        object_id=user.id,
        details={"method": method},
        ip_address=ip_address,
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return opened


def user_for_session(session: Session, *, token: str, now: datetime | None = None) -> User | None:
    """The active user of an open, unexpired session."""
    return session.exec(
        select(User)
        .join(UserSession, col(UserSession.user_id) == col(User.id))
        .where(col(UserSession.token_sha256) == token_digest(token))
        .where(col(UserSession.revoked_at).is_(None))
        .where(col(UserSession.expires_at) > (now or utc_now()))
        .where(col(User.is_active).is_(True))
    ).first()


def sign_out(session: Session, *, token: str, response: Response) -> None:
    """End the session of this token and clear the cookie."""
    opened = session.exec(
        select(UserSession).where(col(UserSession.token_sha256) == token_digest(token))
    ).first()
    if opened is not None and opened.revoked_at is None:
        opened.revoked_at = utc_now()
        session.add(opened)
        record(
            session,
            action="user.logout",
            actor=session.get(User, opened.user_id),
            object_type="user",
            object_id=opened.user_id,
        )
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_token(*, session_token: str, settings: Settings) -> str:
    """The CSRF token of a session: an HMAC of its token, so nothing more is stored."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(*, given: str | None, session_token: str, settings: Settings) -> bool:
    """Whether a request carries its session's CSRF token."""
    expected = csrf_token(session_token=session_token, settings=settings)
    return given is not None and hmac.compare_digest(given, expected)
