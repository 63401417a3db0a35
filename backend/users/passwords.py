"""Passwords: only their argon2id hash is kept (pwdlib), never the password itself."""

from functools import cache

from pwdlib import PasswordHash

MIN_PASSWORD_LENGTH = 12


class WeakPasswordError(ValueError):
    """A password too short to be accepted."""


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    """The argon2id hash of a new password, refused if shorter than 12 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères."
        )
    return _hasher().hash(password)


def verify_password(*, password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether the password matches, and a new hash when the stored one has old parameters.

    Without a hash (unknown user, or one who signs in through ProConnect only) a dummy hash
    is checked all the same, so the answer takes as long whether the account exists or not.
    """
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False, None
    return _hasher().verify_and_update(password, password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher().hash("no account has this password")
