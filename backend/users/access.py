"""Which cases a user may see: the one place visibility is decided, as a SQL condition.

An agent or service head sees the cases of the services they belong to, and the cases no
service owns yet (the préfecture's common triage pool). A quality manager or administrator
reads case contents only for the services they also belong to, like an agent of them.
A case that is not visible is reported as not found, so its existence does not leak.
"""

from dataclasses import dataclass
from typing import Annotated, Any, Self

import sqlalchemy as sa
from fastapi import Depends
from sqlmodel import Session, col

from backend.database import SessionDep
from backend.models import Case, User, UserRole
from backend.users.dependencies import CurrentUserDep
from backend.users.service import service_ids_of

_SEE_UNOWNED = frozenset({UserRole.AGENT, UserRole.SERVICE_HEAD})


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads cases: a user and their services, or the system's own tasks (everything)."""

    user: User | None
    service_ids: frozenset[int]
    sees_unowned: bool
    sees_everything: bool = False

    @classmethod
    def system(cls) -> Self:
        """The workers, the command line and the retention task: they see every case."""
        return cls(user=None, service_ids=frozenset(), sees_unowned=True, sees_everything=True)

    @classmethod
    def of(cls, session: Session, *, user: User) -> Self:
        """A user with the services they belong to."""
        assert user.id is not None
        service_ids = service_ids_of(session, user_id=user.id)
        return cls(
            user=user, service_ids=frozenset(service_ids), sees_unowned=user.role in _SEE_UNOWNED
        )


def visible_cases(viewer: Viewer) -> Any:
    """The WHERE condition of the cases the viewer may see."""
    if viewer.sees_everything:
        return sa.true()
    conditions = []
    if viewer.service_ids:
        conditions.append(col(Case.service_id).in_(sorted(viewer.service_ids)))
    if viewer.sees_unowned:
        conditions.append(col(Case.service_id).is_(None))
    return sa.or_(*conditions) if conditions else sa.false()


def current_viewer(session: SessionDep, user: CurrentUserDep) -> Viewer:
    """The authenticated user, with what they may see."""
    return Viewer.of(session, user=user)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
