"""/api/v1/indicators: the delay indicators, the monthly table and the manual indicators."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlmodel import Session

from backend.audit.service import record
from backend.config import Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.indicators import manual
from backend.indicators.case_list import FigureFilters, Measure, figure_cases
from backend.indicators.delays import DelayRules
from backend.indicators.exports import (
    MEDIA_TYPES,
    ExportFormat,
    Report,
    groups_report,
    table_report,
)
from backend.indicators.periods import (
    PeriodError,
    parse_dimensions,
    parse_month,
    requested_months,
)
from backend.indicators.queries import Month
from backend.indicators.schemas import (
    FigureCasePublic,
    IndicatorsPublic,
    ManualIndicatorCreate,
    ManualIndicatorPublic,
    ManualIndicatorUpdate,
    ManualValuePublic,
    ManualValueUpdate,
    QualityTablePublic,
)
from backend.indicators.service import IndicatorRequest, compute_indicators
from backend.indicators.table import quality_table
from backend.models import CaseChannel, CaseKind, ManualIndicator, User, UserRole
from backend.users.dependencies import CurrentUserDep
from backend.validation import RowId

router = APIRouter(prefix="/indicators", tags=["indicateurs"])
FirstMonth = Annotated[
    str | None, Query(alias="from", description="Premier mois, AAAA-MM (défaut : il y a 11 mois).")
]
LastMonth = Annotated[str | None, Query(alias="to", description="Dernier mois, AAAA-MM.")]
Format = Annotated[
    ExportFormat, Query(alias="format", description="json, ou csv / xlsx à télécharger.")
]
_FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {}, "application/vnd.ms-excel": {}}}
}
EDITORS = {UserRole.QUALITY_MANAGER, UserRole.ADMIN}


@router.get("", response_model=IndicatorsPublic, responses=_FILE_RESPONSES)
def read_indicators(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    first: FirstMonth = None,
    last: LastMonth = None,
    group_by: Annotated[
        str | None, Query(description="Regroupement : channel, kind, mailbox, service.")
    ] = None,
    export_format: Format = ExportFormat.JSON,
) -> Response:
    """The indicators per month and group: receipts, answers, delays, backlog."""
    months = _months(first, last, settings=settings)
    with _refused_as_422():
        dimensions = parse_dimensions(group_by)
    groups = compute_indicators(
        session, request=IndicatorRequest(months=months, dimensions=dimensions), settings=settings
    )
    report = groups_report(
        groups, months=months, dimensions=dimensions, export_format=_api(export_format)
    )
    return _response(session, report, user=user)


@router.get("/table", response_model=QualityTablePublic, responses=_FILE_RESPONSES)
def read_table(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    first: FirstMonth = None,
    last: LastMonth = None,
    export_format: Format = ExportFormat.JSON,
) -> Response:
    """The monthly quality table, as published."""
    table = quality_table(
        session, months=_months(first, last, settings=settings), settings=settings
    )
    return _response(session, table_report(table, export_format=_api(export_format)), user=user)


@router.get("/cases", response_model=list[FigureCasePublic])
def read_figure_cases(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUserDep,
    month: Annotated[str, Query(description="Le mois du chiffre, AAAA-MM.")],
    measure: Annotated[Measure, Query(description="Reçus, répondus, ou ouverts en fin de mois.")],
    channel: CaseChannel | None = None,
    kind: CaseKind | None = None,
    mailbox_id: RowId | None = None,
    service_id: RowId | None = None,
    after_id: Annotated[RowId | None, Query(description="Page suivante : dernier id lu.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[FigureCasePublic]:
    """The cases behind a figure, across services, without personal data (quality manager)."""
    _check_editor(user)
    with _refused_as_422():
        figure_month = parse_month(month)
    return figure_cases(
        session,
        month=figure_month,
        measure=measure,
        filters=FigureFilters(
            channel=channel, kind=kind, mailbox_id=mailbox_id, service_id=service_id
        ),
        rules=DelayRules.from_settings(settings),
        after_id=after_id,
        limit=limit,
    )


@router.get("/manual", response_model=list[ManualIndicatorPublic])
def list_manual_indicators(
    session: SessionDep, user: CurrentUserDep
) -> list[ManualIndicatorPublic]:
    """The indicators entered by hand."""
    return [ManualIndicatorPublic.from_row(row) for row in manual.list_indicators(session)]


@router.post("/manual", response_model=ManualIndicatorPublic, status_code=status.HTTP_201_CREATED)
def create_manual_indicator(
    session: SessionDep, user: CurrentUserDep, request: ManualIndicatorCreate
) -> ManualIndicatorPublic:
    """Define an indicator that no mailbox measures."""
    _check_editor(user)
    indicator = _save(session, ManualIndicator(**request.model_dump()))
    return ManualIndicatorPublic.from_row(indicator)


@router.patch("/manual/{indicator_id}", response_model=ManualIndicatorPublic)
def update_manual_indicator(
    session: SessionDep, user: CurrentUserDep, indicator_id: RowId, request: ManualIndicatorUpdate
) -> ManualIndicatorPublic:
    """Rename, reorder, retarget or retire a manual indicator."""
    _check_editor(user)
    indicator = _indicator(session, indicator_id)
    for name, value in request.model_dump(exclude_unset=True).items():
        setattr(indicator, name, value)
    return ManualIndicatorPublic.from_row(_save(session, indicator))


@router.put("/manual/{indicator_id}/values/{month}", response_model=ManualValuePublic)
def set_manual_value(
    session: SessionDep,
    user: CurrentUserDep,
    indicator_id: RowId,
    month: str,
    request: ManualValueUpdate,
) -> ManualValuePublic:
    """Enter or correct the value of a month."""
    _check_editor(user)
    indicator = _indicator(session, indicator_id)
    with _refused_as_422():
        row = manual.set_value(
            session,
            indicator=indicator,
            month=month,
            value=request.value,
            comment=request.comment,
            actor=user,
        )
    return ManualValuePublic(
        indicator_id=row.indicator_id, month=row.month, value=float(row.value), comment=row.comment
    )


@router.delete("/manual/{indicator_id}/values/{month}", status_code=status.HTTP_204_NO_CONTENT)
def delete_manual_value(
    session: SessionDep, user: CurrentUserDep, indicator_id: RowId, month: str
) -> Response:
    """Remove the value of a month."""
    _check_editor(user)
    indicator = _indicator(session, indicator_id)
    with _refused_as_422():
        manual.delete_value(session, indicator=indicator, month=month)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _months(first: str | None, last: str | None, *, settings: Settings) -> list[Month]:
    with _refused_as_422():
        return requested_months(first=first, last=last, today=settings.today())


@contextmanager
def _refused_as_422() -> Iterator[None]:
    """A period, grouping or indicator the request got wrong: 422 with the French reason."""
    try:
        yield
    except (PeriodError, manual.ManualIndicatorError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error


def _api(export_format: ExportFormat) -> ExportFormat:
    """The API gives JSON or files; the text table is for terminals."""
    if export_format is ExportFormat.TABLE:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="Format « table » réservé à la ligne de commande : json, csv ou xlsx.",
        )
    return export_format


def _response(session: Session, report: Report, *, user: User) -> Response:
    """JSON inline; a spreadsheet or CSV as a download named after the period, traced."""
    headers = {}
    if report.media_type != MEDIA_TYPES[ExportFormat.JSON]:
        headers["Content-Disposition"] = f'attachment; filename="{report.filename}"'
        record(
            session,
            action="indicators.exported",
            actor=user,
            object_type="export",
            details={"file": report.filename},
        )
    return Response(content=report.content, media_type=report.media_type, headers=headers)


def _indicator(session: Session, indicator_id: int) -> ManualIndicator:
    try:
        return manual.get_indicator(session, indicator_id=indicator_id)
    except manual.ManualIndicatorNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error


def _save(session: Session, indicator: ManualIndicator) -> ManualIndicator:
    with _refused_as_422():
        return manual.save_indicator(session, indicator=indicator)


def _check_editor(user: User) -> None:
    """Only the quality manager (or an administrator) defines and enters manual indicators."""
    if user.role not in EDITORS:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Réservé au responsable qualité ou à un administrateur.",
        )
