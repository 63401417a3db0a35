"""How the pages name the préfecture's agents."""

from collections.abc import Iterable

from sqlmodel import Session, col, select

from backend.models import ServiceMembership, User


def full_name(user: User) -> str:
    """First name and surname: "Camille Martin"."""
    return f"{user.first_name} {user.last_name}"


def user_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """The full names of these users, looked up at once."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(wanted))).all()
    return {user.id: full_name(user) for user in users if user.id is not None}


def service_members(
    session: Session, *, service_ids: Iterable[int] | None = None, only_user_id: int | None = None
) -> dict[int, list[tuple[int, str]]]:
    """The active members of each service (of these services, or all), as (id, full name).

    only_user_id keeps that user alone (an agent assigns cases to themselves only).
    """
    query = (
        select(ServiceMembership.service_id, User)
        .join(User, col(User.id) == col(ServiceMembership.user_id))
        .where(col(User.is_active))
        .order_by(col(User.last_name), col(User.first_name))
    )
    if service_ids is not None:
        query = query.where(col(ServiceMembership.service_id).in_(sorted(set(service_ids))))
    if only_user_id is not None:
        query = query.where(col(User.id) == only_user_id)
    members: dict[int, list[tuple[int, str]]] = {}
    for service_id, user in session.exec(query).all():
        if user.id is not None:
            members.setdefault(service_id, []).append((user.id, full_name(user)))
    return members
