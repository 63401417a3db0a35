"""A task sent to the broker runs on a worker; tasks are sent only for committed work."""

from typing import Any

import pytest
from celery import Celery
from celery.result import AsyncResult
from sqlalchemy import Engine

import workers.app
from backend.database import session_scope
from workers.enqueue import enqueue_after_commit

TASK_TIMEOUT_SECONDS = 30


def test_worker_runs_a_task_sent_to_its_broker(celery_worker_app: Celery) -> None:
    result = celery_worker_app.send_task("qualipref.ping")

    assert result.get(timeout=TASK_TIMEOUT_SECONDS) == "pong"


@pytest.fixture
def sent_tasks(celery_worker_app: Celery, monkeypatch: pytest.MonkeyPatch) -> list[AsyncResult]:
    """The results of every task the application sends, through a real broker and worker."""
    results: list[AsyncResult] = []
    send_task = celery_worker_app.send_task

    def send_and_remember(name: str, **options: Any) -> AsyncResult:
        result: AsyncResult = send_task(name, **options)
        results.append(result)
        return result

    monkeypatch.setattr(workers.app, "celery_app", celery_worker_app)
    monkeypatch.setattr(celery_worker_app, "send_task", send_and_remember)
    return results


def test_task_is_sent_once_the_transaction_commits(
    engine: Engine, sent_tasks: list[AsyncResult]
) -> None:
    with session_scope(engine) as session:
        enqueue_after_commit(session, task_name="qualipref.ping", kwargs={})
        assert sent_tasks == []

    assert len(sent_tasks) == 1
    assert sent_tasks[0].get(timeout=TASK_TIMEOUT_SECONDS) == "pong"


def test_task_of_a_rolled_back_transaction_is_never_sent(
    engine: Engine, sent_tasks: list[AsyncResult]
) -> None:
    def enqueue_then_fail() -> None:
        with session_scope(engine) as session:
            enqueue_after_commit(session, task_name="qualipref.ping", kwargs={})
            raise RuntimeError("the rows could not be stored")

    with pytest.raises(RuntimeError):
        enqueue_then_fail()

    with session_scope(engine):
        pass  # a later commit of the same kind must not send the dropped task
    assert sent_tasks == []


def test_a_broker_that_refuses_the_task_does_not_undo_the_committed_work(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(name: str, **options: Any) -> AsyncResult:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(workers.app.celery_app, "send_task", refuse)

    with session_scope(engine) as session:
        enqueue_after_commit(session, task_name="qualipref.ping", kwargs={})

    assert "task qualipref.ping not sent" in caplog.text
