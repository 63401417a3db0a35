"""Enqueue Celery tasks only once the transaction that created their rows has committed."""

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_PENDING_TASKS_KEY = "qualipref_pending_tasks"
logger = logging.getLogger(__name__)


def enqueue_after_commit(session: Session, *, task_name: str, kwargs: dict[str, Any]) -> None:
    """Send the task when this session commits; drop it if the session rolls back.

    A task sent before the commit could run before its rows are visible, or for rows
    that a rollback then removed.
    """
    session.info.setdefault(_PENDING_TASKS_KEY, []).append((task_name, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending_tasks(session: Session) -> None:
    pending: list[tuple[str, dict[str, Any]]] = session.info.pop(_PENDING_TASKS_KEY, [])
    if not pending:
        return
    from workers.app import celery_app  # the worker's app imports the backend, not vice versa

    for task_name, kwargs in pending:
        try:
            celery_app.send_task(task_name, kwargs=kwargs)
        except Exception:
            # The rows are committed: raising now would only hide that behind a failed rollback.
            # The periodic sweeps (outbox, polling) pick up what this task would have done.
            logger.exception("task %s not sent: the broker refused it", task_name)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_tasks(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # the whole unit of work is undone
        session.info.pop(_PENDING_TASKS_KEY, None)
