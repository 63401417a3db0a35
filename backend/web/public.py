"""The public indicators page (no sign-in), its embeddable version and its open-data CSV.

Only figures are shown: the published monthly table and its charts, never a case.
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from backend.config import Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.indicators.exports import ExportFormat, table_report
from backend.indicators.periods import month_of
from backend.indicators.table import quality_table
from backend.web.dashboard import (
    Period,
    chosen_period,
    days_word,
    previous_month,
    quality_charts,
    quality_table_view,
)
from backend.web.security import EMBEDDABLE_POLICY
from backend.web.templating import render

router = APIRouter(include_in_schema=False)
PUBLIC_PAGE = "/indicateurs"
EMBEDDED_PAGE = "/indicateurs/integration"
OPEN_DATA = "/indicateurs.csv"


def published_period(settings: SettingsDep, du: str | None = None, au: str | None = None) -> Period:
    """The period asked for (du, au: AAAA-MM); by default the last twelve complete months."""
    return chosen_period(du, au, default_last=previous_month(month_of(settings.today())))


PeriodDep = Annotated[Period, Depends(published_period)]


@router.get(PUBLIC_PAGE, response_class=HTMLResponse)
def public_indicators(
    request: Request, session: SessionDep, settings: SettingsDep, period: PeriodDep
) -> Response:
    """The published table and charts, with the code that embeds them in another site."""
    embed_url = str(request.url_for("embedded_indicators"))
    return _published_page(
        request,
        session,
        settings=settings,
        period=period,
        template="public/indicators.html",
        extra={"embed_url": embed_url},
    )


@router.get(EMBEDDED_PAGE, response_class=HTMLResponse, name="embedded_indicators")
def embedded_indicators(
    request: Request, session: SessionDep, settings: SettingsDep, period: PeriodDep
) -> Response:
    """The same without the site's header and footer, for an <iframe> on any site."""
    response = _published_page(
        request,
        session,
        settings=settings,
        period=period,
        template="public/embedded.html",
    )
    # The middleware keeps a policy already set: this one lets any site frame the page.
    response.headers["Content-Security-Policy"] = EMBEDDABLE_POLICY
    return response


@router.get(OPEN_DATA)
def open_data(session: SessionDep, settings: SettingsDep, period: PeriodDep) -> Response:
    """The published table as CSV, the French spreadsheet way, for open data."""
    if period.error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=period.error)
    table = quality_table(session, months=period.months, settings=settings)
    report = table_report(table, export_format=ExportFormat.CSV)
    return Response(
        content=report.content,
        media_type=report.media_type,
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
    )


def _published_page(
    request: Request,
    session: Session,
    *,
    settings: Settings,
    period: Period,
    template: str,
    extra: dict[str, Any] | None = None,
) -> Response:
    """A public page of the figures; 422 (and the default period) for a period refused."""
    context = _published(session, settings=settings, period=period) | (extra or {})
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT if period.error else status.HTTP_200_OK
    return render(request, template, page_user=None, context=context, status_code=status_code)


def _published(session: Session, *, settings: Settings, period: Period) -> dict[str, Any]:
    """What both public pages show: the table, its charts, the period, when it was computed."""
    caption = f"Indicateurs qualité – {settings.prefecture.name}, {period.label}"
    table = quality_table(session, months=period.months, settings=settings)
    return {
        "period": period,
        "table": quality_table_view(table, settings=settings, linked=False, caption=caption),
        "charts": quality_charts(table, settings=settings, table_caption=caption),
        "targets": settings.delay_targets,
        "days_word": days_word(settings),
        "updated_at": datetime.now(UTC),
        "open_data_url": f"{OPEN_DATA}?{urlencode({'du': period.first, 'au': period.last})}",
    }
