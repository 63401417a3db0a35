"""The indicators as files: CSV for spreadsheets and open data, XLSX with real numbers, text.

CSV follows the French spreadsheet convention (semicolons, decimal comma, UTF-8 with a byte
order mark) so that a double click opens numbers as numbers; XLSX cells hold numbers with a
number format, never formatted strings.
"""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from backend.indicators.queries import Dimension, Month
from backend.indicators.schemas import IndicatorGroupPublic, IndicatorsPublic, QualityTablePublic
from backend.indicators.service import HUNDRED, IndicatorGroup
from backend.indicators.table import QualityTable, format_value
from backend.letters.formatting import decimal_fr
from backend.models import IndicatorUnit


class ExportFormat(StrEnum):
    """The shapes the indicators are given in."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


MEDIA_TYPES = {
    ExportFormat.TABLE: "text/plain; charset=utf-8",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_PLACES = {IndicatorUnit.PERCENT: 2, IndicatorUnit.DAYS: 1, IndicatorUnit.COUNT: 0}
_NUMBER_FORMATS = {
    IndicatorUnit.PERCENT: "0.00 %",
    IndicatorUnit.DAYS: '0.0 "j"',
    IndicatorUnit.COUNT: "0",
}
_TABLE_HEADINGS = ["Nom indicateur", "Périodicité / commentaire", "Objectif"]


@dataclass(frozen=True, slots=True)
class GroupColumn:
    """A column of the grouped indicators: heading, value of a group, unit of its numbers."""

    heading: str
    value: Callable[[IndicatorGroup], str | int | Decimal | date | None]
    unit: IndicatorUnit | None = None  # None: text or a date


GROUP_COLUMNS: tuple[GroupColumn, ...] = (
    GroupColumn("Mois", lambda g: g.month),
    GroupColumn("Canal", lambda g: g.channel and g.channel.value),
    GroupColumn("Nature", lambda g: g.kind and g.kind.value),
    GroupColumn("Boîte", lambda g: g.mailbox),
    GroupColumn("Service", lambda g: g.service),
    GroupColumn("Reçus", lambda g: g.received, IndicatorUnit.COUNT),
    GroupColumn("Répondus", lambda g: g.answered, IndicatorUnit.COUNT),
    GroupColumn("Délai moyen (j)", lambda g: g.average_delay, IndicatorUnit.DAYS),
    GroupColumn("Délai médian (j)", lambda g: g.median_delay, IndicatorUnit.DAYS),
    GroupColumn("Délai 90e centile (j)", lambda g: g.p90_delay, IndicatorUnit.DAYS),
    GroupColumn("Délai maximal (j)", lambda g: g.max_delay, IndicatorUnit.DAYS),
    GroupColumn("Répondus dans l'objectif", lambda g: g.within_target, IndicatorUnit.COUNT),
    GroupColumn(
        "Taux dans l'objectif (%)",
        lambda g: g.within_target_rate,
        IndicatorUnit.PERCENT,
    ),
    GroupColumn("Ouverts en fin de mois", lambda g: g.open_at_end, IndicatorUnit.COUNT),
    GroupColumn("Dont en retard", lambda g: g.past_due_at_end, IndicatorUnit.COUNT),
    GroupColumn("Plus ancien ouvert, reçu le", lambda g: g.oldest_open_received_on),
    GroupColumn("Âge du plus ancien ouvert (j)", lambda g: g.oldest_open_age, IndicatorUnit.COUNT),
)


@dataclass(frozen=True, slots=True)
class Report:
    """An export ready to be written or downloaded."""

    content: bytes
    media_type: str
    filename: str


def table_report(table: QualityTable, *, export_format: ExportFormat) -> Report:
    """The monthly table in the format asked for."""
    writers: dict[ExportFormat, Callable[[QualityTable], bytes]] = {
        ExportFormat.TABLE: lambda t: table_text(t).encode(),
        ExportFormat.CSV: table_csv,
        ExportFormat.JSON: lambda t: QualityTablePublic.from_table(t).model_dump_json().encode(),
        ExportFormat.XLSX: table_xlsx,
    }
    period = f"{table.months[0].key}_{table.months[-1].key}"
    return _report(writers[export_format](table), export_format, name=f"tableau-qualite_{period}")


def groups_report(
    groups: Sequence[IndicatorGroup],
    *,
    months: Sequence[Month],
    dimensions: Sequence[Dimension],
    export_format: ExportFormat,
) -> Report:
    """The grouped indicators in the format asked for."""
    if export_format is ExportFormat.JSON:
        content = IndicatorsPublic(
            months=[month.key for month in months],
            group_by=list(dimensions),
            groups=[IndicatorGroupPublic.from_group(group) for group in groups],
        ).model_dump_json()
        return _report(content.encode(), export_format, name=_groups_name(months))
    writers: dict[ExportFormat, Callable[[Sequence[IndicatorGroup]], bytes]] = {
        ExportFormat.TABLE: lambda g: groups_text(g).encode(),
        ExportFormat.CSV: groups_csv,
        ExportFormat.XLSX: groups_xlsx,
    }
    return _report(writers[export_format](groups), export_format, name=_groups_name(months))


def _groups_name(months: Sequence[Month]) -> str:
    return f"indicateurs_{months[0].key}_{months[-1].key}"


def _report(content: bytes, export_format: ExportFormat, *, name: str) -> Report:
    extension = "txt" if export_format is ExportFormat.TABLE else export_format.value
    return Report(
        content=content, media_type=MEDIA_TYPES[export_format], filename=f"{name}.{extension}"
    )


def table_csv(table: QualityTable) -> bytes:
    """The monthly table, one row per indicator, numbers with a decimal comma."""
    lines: list[list[str]] = [[*_TABLE_HEADINGS, *table.month_labels]]
    for row in table.rows:
        numbers = [_csv_number(value, unit=row.unit) for value in row.values]
        lines.append([row.label, row.periodicity, row.target, *numbers])
    return csv_bytes(lines)


def groups_csv(groups: Sequence[IndicatorGroup]) -> bytes:
    """The grouped indicators, one row per month and group."""
    lines: list[list[str]] = [[column.heading for column in GROUP_COLUMNS]]
    for group in groups:
        lines.append([_csv_cell(column, group) for column in GROUP_COLUMNS])
    return csv_bytes(lines)


def table_xlsx(table: QualityTable) -> bytes:
    """The monthly table as a workbook: rates as percentages, delays in days, both numbers."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Indicateurs qualité"
    sheet.append([*_TABLE_HEADINGS, *table.month_labels])
    for row in table.rows:
        sheet.append([row.label, row.periodicity, row.target])
        for offset, value in enumerate(row.values):
            cell = sheet.cell(row=sheet.max_row, column=len(_TABLE_HEADINGS) + 1 + offset)
            cell.value = _spreadsheet_number(value, unit=row.unit)
            cell.number_format = _NUMBER_FORMATS[row.unit]
    _finish(sheet, widths=[52, 44, 14] + [14] * len(table.months))
    return _workbook_bytes(workbook)


def groups_xlsx(groups: Sequence[IndicatorGroup]) -> bytes:
    """The grouped indicators as a workbook of numbers and dates."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Indicateurs détaillés"
    sheet.append([column.heading for column in GROUP_COLUMNS])
    for group in groups:
        sheet.append([_spreadsheet_cell(column, group) for column in GROUP_COLUMNS])
        for index, column in enumerate(GROUP_COLUMNS, start=1):
            cell = sheet.cell(row=sheet.max_row, column=index)
            if column.unit is not None:
                cell.number_format = _NUMBER_FORMATS[column.unit]
            elif isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    _finish(sheet, widths=[10, 16, 20, 14, 30] + [16] * (len(GROUP_COLUMNS) - 5))
    return _workbook_bytes(workbook)


def table_text(table: QualityTable) -> str:
    """The monthly table for a terminal, columns aligned."""
    lines = [["Indicateur", "Objectif", *table.month_labels]]
    lines += [[row.label, row.target, *row.cells] for row in table.rows]
    return _aligned(lines)


def groups_text(groups: Sequence[IndicatorGroup]) -> str:
    """The grouped indicators for a terminal, the columns that carry something."""
    shown = [column for column in GROUP_COLUMNS if any(column.value(g) is not None for g in groups)]
    lines = [[column.heading for column in shown]]
    lines += [[_display(column, group) for column in shown] for group in groups]
    return _aligned(lines)


def _csv_number(value: Decimal | int | None, *, unit: IndicatorUnit) -> str:
    return "" if value is None else decimal_fr(value, places=_PLACES[unit]).replace("\u202f", "")


def _csv_cell(column: GroupColumn, group: IndicatorGroup) -> str:
    value = column.value(group)
    if value is None:
        return ""
    if column.unit is not None and isinstance(value, int | Decimal):
        places = 0 if isinstance(value, int) else 2
        return decimal_fr(value, places=places).replace("\u202f", "")
    return value.isoformat() if isinstance(value, date) else str(value)


def _spreadsheet_number(value: Decimal | int | None, *, unit: IndicatorUnit) -> float | None:
    """A percentage is stored as a fraction, as spreadsheets format percentages."""
    if value is None:
        return None
    return float(value / HUNDRED) if unit is IndicatorUnit.PERCENT else float(value)


def _spreadsheet_cell(
    column: GroupColumn, group: IndicatorGroup
) -> str | int | float | date | None:
    value = column.value(group)
    if column.unit is not None and isinstance(value, int | Decimal):
        return _spreadsheet_number(value, unit=column.unit)
    return value if value is None or isinstance(value, str | date) else str(value)


def _display(column: GroupColumn, group: IndicatorGroup) -> str:
    value = column.value(group)
    if column.unit is not None and isinstance(value, int | Decimal):
        return format_value(Decimal(value), unit=column.unit)
    if value is None:
        return ""
    return value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value)


def _aligned(lines: list[list[str]]) -> str:
    widths = [max(len(line[index]) for line in lines) for index in range(len(lines[0]))]
    rendered = [
        "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]
    return "\n".join(rendered) + "\n"


def csv_bytes(lines: list[list[str]]) -> bytes:
    """Rows as the French spreadsheets read CSV: semicolons, CRLF, UTF-8 with a BOM."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(lines)
    return buffer.getvalue().encode("utf-8-sig")


def _finish(sheet: Worksheet, *, widths: list[int]) -> None:
    """Bold headings, frozen first row, readable column widths."""
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
