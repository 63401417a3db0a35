"""Celery task: beat refreshes the kept months of the indicators every night."""

from celery import shared_task
from sqlmodel import func, select

from backend.config import get_settings
from backend.database import session_scope
from backend.indicators.periods import requested_months
from backend.indicators.queries import Dimension
from backend.indicators.service import IndicatorRequest, compute_indicators
from backend.indicators.table import TABLE_DIMENSIONS
from backend.models import IndicatorMonthCache

# The quality table's grouping, and the per-service backlog of the dashboard.
REFRESHED_GROUPINGS = (TABLE_DIMENSIONS, (Dimension.SERVICE,))


@shared_task(name="qualipref.refresh_indicators")
def refresh_indicators() -> int:
    """Compute the default twelve months for the usual groupings; the months now kept."""
    settings = get_settings()
    today = settings.today()
    months = requested_months(first=None, last=None, today=today)
    with session_scope() as session:
        for dimensions in REFRESHED_GROUPINGS:
            request = IndicatorRequest(months=months, dimensions=dimensions)
            compute_indicators(session, request=request, settings=settings, today=today)
        return session.exec(select(func.count()).select_from(IndicatorMonthCache)).one()
