"""The Celery application: `celery -A workers.app worker`, or `qualipref worker`."""

from celery import Celery

from backend.config import Settings, get_settings
from workers.schedule import beat_schedule

TASK_MODULES = [
    "workers.tasks",
    "backend.mailboxes.tasks",
    "backend.outbox.tasks",
    "backend.alerts.tasks",
    "backend.letters.tasks",
    "backend.indicators.tasks",
    "backend.privacy.tasks",
]


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app on the configured broker (Redis in production, SQLite embedded)."""
    app = Celery("qualipref", broker=settings.broker_url, backend=settings.result_backend_url)
    app.conf.update(
        include=TASK_MODULES,
        timezone=settings.timezone,
        enable_utc=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_expires=3600,
        # A task is acknowledged once done, so a worker killed mid-task leaves it queued;
        # every task is written to be run twice without harm.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_broker_transport_options(settings.broker_url),
        beat_schedule=beat_schedule(settings),
        worker_hijack_root_logger=False,
    )
    return app


def _broker_transport_options(broker_url: str) -> dict[str, object]:
    """Redis: redeliver an unacknowledged task after an hour; SQLite: wait for the write lock."""
    if broker_url.startswith("sqla+"):
        # kombu's SQLAlchemy transport hands these to create_engine.
        return {"connect_args": {"timeout": 30}}
    return {"visibility_timeout": 3600}


celery_app = create_celery_app(get_settings())
