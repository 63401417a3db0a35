"""The quality dashboard: the monthly table, charts against the targets, backlog per service,
exports and the manual indicators."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from backend.config import DelayTargets, DelayUnit, Settings
from backend.database import SessionDep
from backend.dependencies import SettingsDep
from backend.indicators import manual
from backend.indicators.backlog import backlog_by_service
from backend.indicators.case_list import FigureFilters, Measure, figure_cases
from backend.indicators.delays import DelayRules
from backend.indicators.periods import (
    PeriodError,
    month_label,
    month_of,
    parse_month,
    requested_months,
)
from backend.indicators.queries import Month
from backend.indicators.schemas import ManualValueUpdate
from backend.indicators.service import IndicatorGroup, IndicatorRequest, compute_indicators
from backend.indicators.table import MEASURED_INDICATORS, QualityTable, TableRow, quality_table
from backend.indicators.table import Measure as RowMeasure
from backend.letters.formatting import decimal_fr
from backend.models import CaseChannel, CaseKind, IndicatorUnit, ManualIndicator, Service
from backend.models.indicators import ManualIndicatorValue
from backend.web.dependencies import QUALITY_ROLES, PageUserDep, QualityPageDep
from backend.web.forms import enum_member
from backend.web.labels import CHANNEL_LABELS, KIND_LABELS
from backend.web.templating import PageUser, render

router = APIRouter(include_in_schema=False)
CASES_PAGE = "/qualite/dossiers"
MANUAL_PAGE = "/qualite/indicateurs-manuels"
CASES_PER_PAGE = 200
Choice = TypeVar("Choice", Measure, CaseChannel, CaseKind)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


# The period


@dataclass(frozen=True, slots=True)
class Period:
    """The months shown, and why the ones asked for were refused (the default shown instead)."""

    months: list[Month]
    error: str | None = None

    @property
    def first(self) -> str:
        """Its first month, AAAA-MM."""
        return self.months[0].key

    @property
    def last(self) -> str:
        """Its last month, AAAA-MM."""
        return self.months[-1].key

    @property
    def label(self) -> str:
        """'de janvier 2026 à décembre 2026'."""
        first, last = (month_label(month).lower() for month in (self.months[0], self.months[-1]))
        return first if first == last else f"de {first} à {last}"


def chosen_period(first: str | None, last: str | None, *, default_last: Month) -> Period:
    """The months asked for (twelve up to default_last by default), or the default with why."""
    today = default_last.last_day
    try:
        return Period(
            requested_months(first=first or None, last=last or default_last.key, today=today)
        )
    except PeriodError as error:
        return Period(requested_months(first=None, last=default_last.key, today=today), str(error))


def previous_month(month: Month) -> Month:
    """The month before."""
    return month_of(month.first_day - timedelta(days=1))


# The monthly table, as both the dashboard and the public page render it


@dataclass(frozen=True, slots=True)
class Cell:
    """A figure as shown, and the list of the cases behind it (None: no link)."""

    text: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RowView:
    """A row of a figures table."""

    label: str
    cells: list[Cell]
    periodicity: str = ""
    target: str = ""


@dataclass(frozen=True, slots=True)
class TableView:
    """A table of figures per month, ready for the template's macro."""

    id: str
    caption: str
    month_labels: list[str]
    rows: list[RowView]
    with_targets: bool = True


@dataclass(frozen=True, slots=True)
class MeasuredReading:
    """How the pages read a measured row: the cases behind it, its series, its target."""

    cases: FigureFilters
    series: str
    target: Callable[[DelayTargets], float]


# By the position of the row in backend.indicators.table.MEASURED_INDICATORS.
MEASURED_READINGS = {
    500: MeasuredReading(FigureFilters(channel=CaseChannel.EMAIL), "Courriels", lambda t: t.email),
    510: MeasuredReading(FigureFilters(channel=CaseChannel.PAPER), "Courriers", lambda t: t.paper),
    520: MeasuredReading(
        FigureFilters(kind=CaseKind.COMPLAINT), "Réclamations", lambda t: t.complaint
    ),
    530: MeasuredReading(
        FigureFilters(channel=CaseChannel.EMAIL),
        "Courriels",
        lambda t: t.within_target_rate_percent,
    ),
}


@dataclass(frozen=True, slots=True)
class MeasuredRow:
    """A measured row of a table with what it measures and how the pages read it."""

    row: TableRow
    measure: RowMeasure
    reading: MeasuredReading


def measured_rows(table: QualityTable, *, settings: Settings) -> list[MeasuredRow]:
    """The table's measured rows, in their order."""
    definitions = {
        definition.label(settings.delay_targets): definition for definition in MEASURED_INDICATORS
    }
    found = [(row, definitions[row.label]) for row in table.rows if row.measured]
    return [
        MeasuredRow(row, definition.measure, MEASURED_READINGS[definition.position])
        for row, definition in found
    ]


def cases_url(
    month: Month,
    *,
    measure: Measure,
    filters: FigureFilters = FigureFilters(),  # noqa: B008 - frozen, never changed
) -> str:
    """The page listing the cases behind a figure."""
    query = {
        "mois": month.key,
        "mesure": measure.value,
        "canal": filters.channel and filters.channel.value,
        "nature": filters.kind and filters.kind.value,
        "service": filters.service_id,
    }
    return f"{CASES_PAGE}?{urlencode({k: v for k, v in query.items() if v is not None})}"


def quality_table_view(
    table: QualityTable, *, settings: Settings, linked: bool, caption: str
) -> TableView:
    """The monthly table as the seed lays it out; measured figures link to their cases."""
    readings = {
        id(measured.row): measured.reading for measured in measured_rows(table, settings=settings)
    }
    rows = []
    for row in table.rows:
        reading = readings.get(id(row)) if linked else None
        cells = [
            Cell(
                text,
                None
                if reading is None or value is None
                else cases_url(month, measure=Measure.ANSWERED, filters=reading.cases),
            )
            for text, value, month in zip(row.cells, row.values, table.months, strict=True)
        ]
        rows.append(RowView(row.label, cells, periodicity=row.periodicity, target=row.target))
    return TableView("tableau-qualite", caption, table.month_labels, rows)


@dataclass(frozen=True, slots=True)
class VolumeRow:
    """A row of the volumes table: its label, its count in a month, the cases behind it."""

    label: str
    count: Callable[[IndicatorGroup], int]
    measure: Measure | None


VOLUME_ROWS = (
    VolumeRow("Dossiers reçus", lambda g: g.received, Measure.RECEIVED),
    VolumeRow("Dossiers répondus", lambda g: g.answered, Measure.ANSWERED),
    VolumeRow("Dont répondus dans l'objectif", lambda g: g.within_target, None),
    VolumeRow("Dossiers ouverts en fin de mois", lambda g: g.open_at_end, Measure.OPEN),
    VolumeRow("Dont en retard en fin de mois", lambda g: g.past_due_at_end, None),
)


def volumes_view(
    groups: Sequence[IndicatorGroup], *, months: Sequence[Month], linked: bool
) -> TableView:
    """Cases received, answered and open per month, all channels together."""
    by_month = {group.month: group for group in groups}
    rows = []
    for volume in VOLUME_ROWS:
        cells = []
        for month in months:
            count = volume.count(by_month[month.key])
            link = linked and volume.measure is not None and count > 0
            url = cases_url(month, measure=volume.measure) if link and volume.measure else None
            cells.append(Cell(decimal_fr(count, places=0), url))
        rows.append(RowView(volume.label, cells))
    return TableView(
        "volumes",
        "Volumes par mois, tous canaux (ouverts et en retard : à la fin de chaque mois)",
        [month_label(month) for month in months],
        rows,
        with_targets=False,
    )


# The charts


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart: its title, the text pointing to its data, and what charts.js draws."""

    id: str
    title: str
    description: str
    spec: dict[str, Any]


def quality_charts(table: QualityTable, *, settings: Settings, table_caption: str) -> list[Chart]:
    """Average delays against their targets, and the within-target rate against the commitment."""
    measured = measured_rows(table, settings=settings)
    delays = [m for m in measured if m.measure is RowMeasure.AVERAGE_DELAY]
    rates = [m for m in measured if m.measure is RowMeasure.WITHIN_TARGET_RATE]
    days = days_word(settings)
    where = f"Les valeurs de ce graphique figurent dans le tableau « {table_caption} », lignes "
    return [
        Chart(
            "graphique-delais",
            f"Délai moyen de traitement par mois, en {days}, et objectifs",
            where + ", ".join(f"« {m.row.label} »" for m in delays) + ".",
            _chart_spec(table, delays, settings=settings, kind="line", unit="j", axis=days),
        ),
        Chart(
            "graphique-taux",
            "Taux de réponse dans l'objectif par mois, et engagement",
            where + ", ".join(f"« {m.row.label} »" for m in rates) + ".",
            _chart_spec(table, rates, settings=settings, kind="bar", unit="%", axis="%"),
        ),
    ]


def days_word(settings: Settings) -> str:
    """What a delay counts: 'jours ouvrés', or 'jours' when counted in calendar days."""
    return "jours ouvrés" if settings.delay_unit is DelayUnit.WORKING_DAYS else "jours"


def _chart_spec(
    table: QualityTable,
    measured: Sequence[MeasuredRow],
    *,
    settings: Settings,
    kind: str,
    unit: str,
    axis: str,
) -> dict[str, Any]:
    """Labels and datasets for charts.js: one per row, one dashed line per distinct target."""
    series = [
        {"label": m.reading.series if kind == "line" else m.row.label, "data": _floats(m.row)}
        for m in measured
    ]
    targets: dict[float, list[str]] = {}
    for m in measured:
        targets.setdefault(m.reading.target(settings.delay_targets), []).append(m.reading.series)
    lines = [
        {
            "label": _target_label(names, value=value, unit=unit, rate=kind == "bar"),
            "data": [value] * len(table.months),
            "target": True,
        }
        for value, names in targets.items()
    ]
    return {
        "type": kind,
        "labels": table.month_labels,
        "unit": unit,
        "axis": axis,
        "max": 100 if unit == "%" else None,
        "datasets": series + lines,
    }


def _target_label(names: list[str], *, value: float, unit: str, rate: bool) -> str:
    amount = f"{decimal_fr(Decimal(str(value)), places=0)} {unit}"
    if rate:
        return f"Engagement : {amount}"
    listed = " et ".join(name.lower() for name in names)
    return f"Objectif {listed} : {amount}"


def _floats(row: TableRow) -> list[float | None]:
    return [None if value is None else round(float(value), 2) for value in row.values]


# The pages


@router.get("/qualite", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    page: PageUserDep,
    du: str | None = None,
    au: str | None = None,
) -> Response:
    """The monthly table, volumes, charts, backlog per service and exports, for every role."""
    today = settings.today()
    period = chosen_period(du, au, default_last=month_of(today))
    linked = page.has_role(*QUALITY_ROLES)
    caption = f"Indicateurs qualité, {period.label}"
    table = quality_table(session, months=period.months, settings=settings)
    groups = compute_indicators(
        session, request=IndicatorRequest(months=period.months), settings=settings
    )
    backlog = backlog_by_service(session, rules=DelayRules.from_settings(settings), today=today)
    api_period = urlencode({"from": period.first, "to": period.last})
    return render(
        request,
        "dashboard/dashboard.html",
        page_user=page,
        context={
            "period": period,
            "table": quality_table_view(table, settings=settings, linked=linked, caption=caption),
            "volumes": volumes_view(groups, months=period.months, linked=linked),
            "charts": quality_charts(table, settings=settings, table_caption=caption),
            "backlog": backlog,
            "backlog_totals": {
                "open_cases": sum(entry.open_cases for entry in backlog),
                "overdue": sum(entry.overdue for entry in backlog),
            },
            "today": today,
            "api_period": api_period,
            "may_edit": linked,
        },
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if period.error else status.HTTP_200_OK,
    )


MEASURE_TITLES = {
    Measure.RECEIVED: "Dossiers reçus en",
    Measure.ANSWERED: "Dossiers répondus en",
    Measure.OPEN: "Dossiers ouverts à la fin de",
}


@dataclass(frozen=True, slots=True)
class FigureRequest:
    """What the list of a figure's cases was asked for."""

    month: Month
    measure: Measure
    filters: FigureFilters
    after_id: int | None


@router.get(CASES_PAGE, response_class=HTMLResponse)
def figure_case_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    page: QualityPageDep,
    mois: str = "",
    mesure: str = "",
    canal: str = "",
    nature: str = "",
    service: str = "",
    apres: str = "",
) -> Response:
    """The anonymous cases behind a figure, across services (quality manager, administrator)."""
    asked = _figure_request(mois, mesure, channel=canal, kind=nature, service=service, after=apres)
    cases = figure_cases(
        session,
        month=asked.month,
        measure=asked.measure,
        filters=asked.filters,
        rules=DelayRules.from_settings(settings),
        after_id=asked.after_id,
        limit=CASES_PER_PAGE + 1,
    )
    more = len(cases) > CASES_PER_PAGE
    cases = cases[:CASES_PER_PAGE]
    names = _service_names(session)
    next_url = None
    if more:
        base = cases_url(asked.month, measure=asked.measure, filters=asked.filters)
        next_url = f"{base}&{urlencode({'apres': cases[-1].id})}"
    return render(
        request,
        "dashboard/figure_cases.html",
        page_user=page,
        context={
            "title": _figure_title(asked, names=names),
            "cases": cases,
            "service_names": names,
            "next_url": next_url,
            "continued": asked.after_id is not None,
        },
    )


def _figure_request(
    month: str, measure: str, *, channel: str, kind: str, service: str, after: str
) -> FigureRequest:
    """The list's query, or a 422 page saying what is wrong with it."""
    try:
        parsed_month = parse_month(month)
        return FigureRequest(
            month=parsed_month,
            measure=_choice(Measure, measure, "Mesure inconnue"),
            filters=FigureFilters(
                channel=_choice(CaseChannel, channel, "Canal inconnu") if channel else None,
                kind=_choice(CaseKind, kind, "Nature inconnue") if kind else None,
                service_id=_number(service, "Service inconnu"),
            ),
            after_id=_number(after, "Page inconnue"),
        )
    except PeriodError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error


def _choice(enum: type[Choice], value: str, refusal: str) -> Choice:
    member = enum_member(enum, value)
    if member is None:
        raise PeriodError(f"{refusal} « {value} ».")
    return member


def _number(value: str, refusal: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise PeriodError(f"{refusal} « {value} ».")
    return int(value)


def _figure_title(asked: FigureRequest, *, names: dict[int, str]) -> str:
    """'Dossiers répondus en octobre 2026 – courriel'."""
    title = f"{MEASURE_TITLES[asked.measure]} {month_label(asked.month).lower()}"
    filters = asked.filters
    details = [
        filters.channel and CHANNEL_LABELS[filters.channel].lower(),
        filters.kind and KIND_LABELS[filters.kind].lower(),
        filters.service_id and names.get(filters.service_id, "service inconnu"),
    ]
    return " – ".join([title, *(detail for detail in details if detail)])


def _service_names(session: Session) -> dict[int, str]:
    # A few dozen services at most: reading them whole is simplest.
    return {row[0]: row[1] for row in session.exec(select(Service.id, Service.name)) if row[0]}


# The manual indicators

UNIT_HINTS = {
    IndicatorUnit.PERCENT: "En pourcentage, par exemple 89,65",
    IndicatorUnit.DAYS: "En jours, par exemple 4,5",
    IndicatorUnit.COUNT: "Un nombre, par exemple 47",
}


@dataclass(frozen=True, slots=True)
class ManualEntry:
    """A field of the form: the indicator, the value shown, and what is wrong with it."""

    indicator: ManualIndicator
    text: str
    error: str | None = None

    @property
    def hint(self) -> str:
        """How to write the value, and the target."""
        target = f" – objectif : {self.indicator.target}" if self.indicator.target else ""
        return UNIT_HINTS[self.indicator.unit] + target


@router.get(MANUAL_PAGE, response_class=HTMLResponse)
def manual_values_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    page: QualityPageDep,
    mois: str | None = None,
    enregistre: str | None = None,
) -> Response:
    """The values of the month's manual indicators, to enter or correct (last month first)."""
    default = previous_month(month_of(settings.today()))
    try:
        month = parse_month(mois) if mois else default
    except PeriodError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
    values = _entered(session, month=month)
    entries = [
        ManualEntry(indicator, _value_text(values.get(indicator.id or 0)))
        for indicator in _active_indicators(session)
    ]
    message = f"Valeurs de {month_label(month).lower()} enregistrées." if enregistre else None
    return _manual_page(request, page=page, month=month, entries=entries, message=message)


@router.post(MANUAL_PAGE, response_class=HTMLResponse)
def save_manual_values(
    request: Request,
    session: SessionDep,
    page: QualityPageDep,
    mois: Annotated[str, Form(max_length=20)],
    indicateur: Annotated[list[int] | None, Form()] = None,
    valeur: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Save every value of the month at once; an emptied field removes the month's value."""
    try:
        month = parse_month(mois)
    except PeriodError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
    entered = dict(zip(indicateur or [], valeur or [], strict=False))
    entries = [
        ManualEntry(indicator, text, _value_error(text))
        for indicator in _active_indicators(session)
        for text in [entered.get(indicator.id or 0, "").strip()]
        if indicator.id in entered
    ]
    if any(entry.error for entry in entries):
        return _manual_page(
            request,
            page=page,
            month=month,
            entries=entries,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    comments = _entered(session, month=month, comments=True)
    for entry in entries:
        _save_value(
            session, entry, month=month, comment=comments.get(entry.indicator.id or 0), actor=page
        )
    query = urlencode({"mois": month.key, "enregistre": "1"})
    return RedirectResponse(f"{MANUAL_PAGE}?{query}", status_code=status.HTTP_303_SEE_OTHER)


def _manual_page(
    request: Request,
    *,
    page: PageUser,
    month: Month,
    entries: list[ManualEntry],
    message: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return render(
        request,
        "dashboard/manual_values.html",
        page_user=page,
        context={
            "month": month,
            "month_name": month_label(month).lower(),
            "entries": entries,
            "message": message,
            "errors": [entry for entry in entries if entry.error],
        },
        status_code=status_code,
    )


def _save_value(
    session: Session, entry: ManualEntry, *, month: Month, comment: str | None, actor: PageUser
) -> None:
    """Enter the field's value, or remove the month's value when the field was emptied."""
    if not entry.text:
        manual.delete_value(session, indicator=entry.indicator, month=month.key)
        return
    manual.set_value(
        session,
        indicator=entry.indicator,
        month=month.key,
        value=_parsed(entry.text),
        comment=comment,
        actor=actor.user,
    )


def _active_indicators(session: Session) -> list[ManualIndicator]:
    return [indicator for indicator in manual.list_indicators(session) if indicator.active]


def _entered(session: Session, *, month: Month, comments: bool = False) -> dict[int, Any]:
    """The month's values (or their comments) per indicator."""
    rows = session.exec(
        select(ManualIndicatorValue).where(col(ManualIndicatorValue.month) == month.key)
    ).all()
    return {row.indicator_id: row.comment if comments else row.value for row in rows}


def _value_text(value: Decimal | None) -> str:
    """A stored value as the field shows it: decimal comma, no unit, no thousands space."""
    if value is None:
        return ""
    text = decimal_fr(value, places=4).replace("\u202f", "").replace("\xa0", "")
    return text.rstrip("0").rstrip(",") if "," in text else text


def _parsed(text: str) -> Decimal:
    return Decimal(re.sub(r"[\s\u202f\xa0]", "", text).replace(",", "."))


def _value_error(text: str) -> str | None:
    """Why the field's text is not a value; None when it is one, or empty."""
    if not text:
        return None
    if not _NUMBER.match(re.sub(r"[\s\u202f\xa0]", "", text).replace(",", ".")):
        return "Saisissez un nombre, avec une virgule pour les décimales : par exemple 89,65."
    try:
        ManualValueUpdate(value=_parsed(text))
    except ValidationError:
        return "Nombre trop grand ou trop précis : au plus 10 chiffres et 4 décimales."
    return None
