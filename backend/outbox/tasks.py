"""Celery tasks: deliver what a transaction queued, and, from beat, whatever is due again."""

from celery import shared_task

from backend.config import get_settings
from backend.database import get_engine
from backend.models import OutboxStatus
from backend.outbox.delivery import deliver_emails, due_email_ids


@shared_task(name="qualipref.deliver_outbox_emails")
def deliver_outbox_emails(outbox_ids: list[int]) -> dict[str, str]:
    """Attempt these e-mails now; those already sent or claimed elsewhere are left alone."""
    results = deliver_emails(outbox_ids=outbox_ids, settings=get_settings(), engine=get_engine())
    return _by_id(results)


@shared_task(name="qualipref.deliver_due_emails")
def deliver_due_emails() -> dict[str, str]:
    """Retry the e-mails whose backoff has passed, and settle attempts whose worker vanished."""
    settings = get_settings()
    engine = get_engine()
    results = deliver_emails(
        outbox_ids=due_email_ids(settings=settings, engine=engine),
        settings=settings,
        engine=engine,
    )
    return _by_id(results)


def _by_id(results: dict[int, OutboxStatus]) -> dict[str, str]:
    """Each e-mail's status, as a JSON-friendly mapping."""
    return {str(outbox_id): status.value for outbox_id, status in results.items()}
