"""Personal API tokens: shown once at creation, kept only as a SHA-256."""

import hashlib
import secrets

from sqlmodel import Session, col, select

from backend.models import ApiToken, User
from backend.models.types import utc_now

TOKEN_PREFIX = "qp_"  # noqa: S105 - a prefix that makes leaked tokens recognisable, no secret


def create_token(session: Session, *, user: User, name: str) -> str:
    """A new token for the user; the only time its value is known."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(ApiToken(user_id=user.id, name=name, token_sha256=token_digest(token)))
    return token


def user_for_token(session: Session, *, token: str) -> User | None:
    """The active user a valid, unrevoked token belongs to."""
    found = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(col(ApiToken.token_sha256) == token_digest(token))
        .where(col(ApiToken.revoked_at).is_(None))
        .where(col(User.is_active).is_(True))
    ).first()
    if found is None:
        return None
    api_token, user = found
    api_token.last_used_at = utc_now()
    session.add(api_token)
    return user


def token_digest(token: str) -> str:
    """Tokens are long random strings: a plain SHA-256 is enough, no slow hash needed."""
    return hashlib.sha256(token.encode()).hexdigest()
