"""Accounts: signing in with a password (and the growing wait after repeated failures), and
the administrators' changes to accounts and their services."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from backend.audit.service import record
from backend.config import Settings
from backend.models import Service, ServiceMembership, User
from backend.models.types import utc_now
from backend.users.passwords import hash_password, verify_password
from backend.users.schemas import UserCreate, UserUpdate

# However many failures, an account never waits more than an hour.
MAX_LOCKOUT = timedelta(hours=1)
# Who the audit trail names for a change made with the `qualipref` command (no user signed in).
CLI_ACTOR = "system:cli"


class LoginRefusedError(Exception):
    """A sign-in refused, with the message for the person and, when locked, the wait."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    settings: Settings,
    ip_address: str | None = None,
) -> User:
    """The user these credentials belong to; every refusal is counted and recorded."""
    now = utc_now()
    user = user_by_email(session, email=email)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        _record_failure(session, user=user, email=email, reason="locked", ip_address=ip_address)
        wait = user.locked_until - now
        raise LoginRefusedError(
            "Trop d'essais manqués : ce compte est verrouillé pour "
            f"{_minutes(wait)} ; réessayez ensuite.",
            retry_after=max(1, int(wait.total_seconds())),
        )
    usable_hash = user.password_hash if user is not None and user.is_active else None
    valid, new_hash = verify_password(password=password, password_hash=usable_hash)
    if user is None or not valid:
        if user is not None:
            _count_failure(user, settings=settings, now=now)
        _record_failure(session, user=user, email=email, reason="password", ip_address=ip_address)
        raise LoginRefusedError("Adresse électronique ou mot de passe incorrect.")
    if new_hash is not None:
        user.password_hash = new_hash
    return user


def user_by_email(session: Session, *, email: str) -> User | None:
    """The account of an e-mail address, whatever its case."""
    address = email.strip().lower()
    return session.exec(select(User).where(func.lower(col(User.email)) == address)).first()


def _count_failure(user: User, *, settings: Settings, now: datetime) -> None:
    user.failed_login_count += 1
    beyond = user.failed_login_count - settings.login_max_failures
    if beyond >= 0:
        wait = timedelta(seconds=settings.login_lockout_seconds) * 2 ** min(beyond, 16)
        user.locked_until = now + min(wait, MAX_LOCKOUT)


def _record_failure(
    session: Session, *, user: User | None, email: str, reason: str, ip_address: str | None
) -> None:
    if user is not None:
        session.add(user)
    record(
        session,
        action="user.login_failed",
        actor=user,
        actor_label=None if user is not None else "anonymous",
        object_type="user",
        object_id=user.id if user is not None else None,
        details={"email": email.strip().lower()[:320], "reason": reason},
        ip_address=ip_address,
    )


def _minutes(wait: timedelta) -> str:
    minutes = max(1, round(wait.total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class UserInputError(ValueError):
    """A user account that cannot be saved as asked: the message says why."""


def service_ids_of(session: Session, *, user_id: int) -> list[int]:
    """The services a user belongs to."""
    rows = session.exec(
        select(ServiceMembership.service_id)
        .where(col(ServiceMembership.user_id) == user_id)
        .order_by(col(ServiceMembership.service_id))
    )
    return list(rows.all())


def create_user(session: Session, *, user_in: UserCreate, actor: User) -> User:
    """A new account in the services given; traced."""
    if user_by_email(session, email=user_in.email) is not None:
        raise UserInputError(f"Un compte {user_in.email.lower()} existe déjà.")
    user = User(**user_in.model_dump(exclude={"service_ids"}))
    user.email = user.email.lower()
    session.add(user)
    session.flush()
    assert user.id is not None
    _set_services(session, user_id=user.id, service_ids=user_in.service_ids)
    created = {**user_in.model_dump(mode="json"), "email": user.email}
    record(
        session,
        action="user.created",
        actor=actor,
        object_type="user",
        object_id=user.id,
        changes={name: [None, value] for name, value in created.items()},
    )
    return user


def update_user(session: Session, *, user: User, user_in: UserUpdate, actor: User) -> User:
    """Change the given fields and, when given, the services; traced with before and after."""
    assert user.id is not None
    before = {
        **user.model_dump(mode="json"),
        "service_ids": service_ids_of(session, user_id=user.id),
    }
    for name, value in user_in.model_dump(exclude_unset=True, exclude={"service_ids"}).items():
        setattr(user, name, value)
    session.add(user)
    if user_in.service_ids is not None:
        _set_services(session, user_id=user.id, service_ids=user_in.service_ids)
    session.flush()
    after = {
        **user.model_dump(mode="json"),
        "service_ids": service_ids_of(session, user_id=user.id),
    }
    changes = {
        name: [before[name], after[name]]
        for name in user_in.model_dump(exclude_unset=True)
        if before[name] != after[name]
    }
    record(
        session,
        action="user.updated",
        actor=actor,
        object_type="user",
        object_id=user.id,
        changes=changes,
    )
    return user


def _set_services(session: Session, *, user_id: int, service_ids: list[int]) -> None:
    wanted = set(service_ids)
    known = set(session.exec(select(Service.id).where(col(Service.id).in_(sorted(wanted)))).all())
    if unknown := wanted - known:
        raise UserInputError(f"Aucun service n° {', '.join(map(str, sorted(unknown)))}.")
    current = set(service_ids_of(session, user_id=user_id))
    for service_id in current - wanted:
        membership = session.get(ServiceMembership, (user_id, service_id))
        session.delete(membership)
    session.add_all(
        ServiceMembership(user_id=user_id, service_id=service_id) for service_id in wanted - current
    )


def set_password(session: Session, *, user: User, password: str, actor: User | None) -> None:
    """A new password (12 characters or more, else WeakPasswordError); the lock is lifted.

    Traced; the actor None is the command line.
    """
    user.password_hash = hash_password(password)
    user.failed_login_count = 0
    user.locked_until = None
    session.add(user)
    _trace(session, action="user.password_set", actor=actor, object_type="user", object_id=user.id)


def create_service(
    session: Session, *, slug: str, name: str, email: str | None, actor: User | None
) -> Service:
    """A new service of the préfecture, its slug unused; traced (the actor None: the CLI)."""
    if session.exec(select(Service.id).where(col(Service.slug) == slug)).first() is not None:
        raise UserInputError(f"Un service « {slug} » existe déjà.")
    service = Service(slug=slug, name=name, email=email)
    session.add(service)
    session.flush()
    _trace(
        session,
        action="service.created",
        actor=actor,
        object_type="service",
        object_id=service.id,
        changes={"slug": [None, slug], "name": [None, name], "email": [None, email]},
    )
    return service


def _trace(
    session: Session,
    *,
    action: str,
    actor: User | None,
    object_type: str,
    object_id: int | None,
    changes: dict[str, list[Any]] | None = None,
) -> None:
    """An administration change in the audit trail, by a user or (actor None) the command line."""
    record(
        session,
        action=action,
        actor=actor,
        actor_label=None if actor else CLI_ACTOR,
        object_type=object_type,
        object_id=object_id,
        changes=changes,
    )
