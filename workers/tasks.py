"""Celery tasks. They take IDs, re-load what they need, and may run twice without harm."""

import logging
import os
import socket
from datetime import UTC, datetime

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="qualipref.ping")
def ping() -> str:
    """Answer 'pong': proves a worker consumes the queue."""
    return "pong"


@shared_task(name="qualipref.heartbeat")
def heartbeat() -> dict[str, str | int]:
    """Log that beat and a worker are alive, with where and when."""
    beat: dict[str, str | int] = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "at": datetime.now(UTC).isoformat(),
    }
    logger.info("heartbeat from %(host)s pid %(pid)s at %(at)s", beat)
    return beat
