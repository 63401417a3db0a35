"""The periodic jobs run by Celery beat; each later feature adds its entry here."""

from typing import Any

from celery.schedules import crontab

from backend.config import Settings


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Beat entries: name -> task and interval (seconds) or crontab."""
    return {
        "heartbeat": {
            "task": "qualipref.heartbeat",
            "schedule": settings.heartbeat_interval_seconds,
        },
        "poll-mailboxes": {
            "task": "qualipref.poll_due_mailboxes",
            "schedule": settings.poll_interval_seconds,
        },
        "deliver-due-emails": {
            "task": "qualipref.deliver_due_emails",
            "schedule": settings.outbox_sweep_seconds,
        },
        # Every day at the préfecture's local time (the app's timezone); the task itself skips
        # weekends and public holidays, which a crontab cannot know.
        "send-overdue-alerts": {
            "task": "qualipref.send_overdue_alerts",
            "schedule": _daily_at(settings.overdue_alert_time),
        },
        "apply-retention": {
            "task": "qualipref.apply_retention",
            "schedule": _daily_at(settings.retention_time),
        },
        "refresh-indicators": {
            "task": "qualipref.refresh_indicators",
            "schedule": _daily_at(settings.indicator_refresh_time),
        },
    }


def _daily_at(clock_time: str) -> crontab:
    """A crontab firing once a day at HH:MM."""
    hour, minute = clock_time.split(":")
    return crontab(hour=int(hour), minute=int(minute))
