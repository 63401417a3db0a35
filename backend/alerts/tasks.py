"""Celery task: beat asks every morning for the day's overdue alerts."""

from celery import shared_task

from backend.alerts.service import queue_overdue_alerts
from backend.config import get_settings
from backend.database import session_scope


@shared_task(name="qualipref.send_overdue_alerts")
def send_overdue_alerts() -> list[int]:
    """Queue today's alert of each service (none on a day off); the new outbox ids."""
    settings = get_settings()
    with session_scope() as session:
        return queue_overdue_alerts(session, settings=settings, today=settings.today())
