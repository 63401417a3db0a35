"""The periodic jobs run by Celery beat; each later feature adds its entry here."""

from typing import Any

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
    }
