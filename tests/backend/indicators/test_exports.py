"""The table and the detail as files: a spreadsheet of numbers, a CSV a French Excel opens."""

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from backend.config import Settings
from backend.indicators.exports import (
    ExportFormat,
    groups_csv,
    groups_report,
    groups_xlsx,
    table_csv,
    table_text,
    table_xlsx,
)
from backend.indicators.periods import months_between, parse_month
from backend.indicators.queries import Dimension
from backend.indicators.service import IndicatorRequest, compute_indicators
from backend.indicators.table import quality_table
from tests.backend.indicators.dataset import add_cases

SPRING = months_between(parse_month("2026-04"), parse_month("2026-06"))


def test_the_xlsx_table_holds_numbers_with_their_formats(
    session: Session, settings: Settings
) -> None:
    add_cases(session)
    table = quality_table(session, months=SPRING, settings=settings)

    sheet = load_workbook(io.BytesIO(table_xlsx(table))).active
    assert sheet is not None

    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Nom indicateur",
        "Périodicité / commentaire",
        "Objectif",
        "Avril 2026",
        "Mai 2026",
        "Juin 2026",
    )
    assert rows[1][0] == "Délai moyen de traitement des courriels"
    assert list(rows[1][3:]) == [pytest.approx(2.4), pytest.approx(1.0), None]
    assert list(rows[4][3:]) == [pytest.approx(0.8), pytest.approx(1.0), None]
    assert sheet["D2"].number_format == '0.0 "j"'
    assert sheet["D5"].number_format == "0.00 %"


def test_the_xlsx_detail_has_dates_and_counts(session: Session, settings: Settings) -> None:
    add_cases(session)
    groups = compute_indicators(session, request=IndicatorRequest(months=SPRING), settings=settings)

    sheet = load_workbook(io.BytesIO(groups_xlsx(groups))).active
    assert sheet is not None

    headings = [cell.value for cell in sheet[1]]
    april = dict(zip(headings, [cell.value for cell in sheet[2]], strict=True))
    assert april["Mois"] == "2026-04"
    assert (april["Reçus"], april["Répondus"]) == (7, 5)
    assert april["Délai moyen (j)"] == pytest.approx(2.4)
    assert april["Délai 90e centile (j)"] == pytest.approx(5.4)
    assert april["Taux dans l'objectif (%)"] == pytest.approx(0.8)
    assert april["Plus ancien ouvert, reçu le"] == datetime(2026, 3, 16)


def test_the_csv_table_reads_in_a_french_spreadsheet(session: Session, settings: Settings) -> None:
    add_cases(session)
    table = quality_table(session, months=SPRING, settings=settings)

    content = table_csv(table)

    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == [
        "Délai moyen de traitement des courriels",
        "Indicateur mensuel, sur 7 courriels répondus",
        "5 j maxi",
        "2,4",
        "1,0",
        "",
    ]
    assert rows[4][3:] == ["80,00", "100,00", ""]


def test_the_csv_detail_gives_one_line_per_month_and_group(
    session: Session, settings: Settings
) -> None:
    add_cases(session)
    groups = compute_indicators(
        session,
        request=IndicatorRequest(months=SPRING, dimensions=(Dimension.CHANNEL,)),
        settings=settings,
    )

    rows = list(csv.DictReader(io.StringIO(groups_csv(groups).decode("utf-8-sig")), delimiter=";"))

    assert [(row["Mois"], row["Canal"], row["Répondus"]) for row in rows] == [
        ("2026-04", "email", "5"),
        ("2026-04", "paper", "0"),
        ("2026-05", "email", "2"),
        ("2026-05", "paper", "2"),
        ("2026-06", "email", "0"),
        ("2026-06", "paper", "0"),
    ]
    assert rows[3]["Délai moyen (j)"] == "6,50"


def test_the_terminal_table_aligns_the_published_values(
    session: Session, settings: Settings
) -> None:
    add_cases(session)

    text = table_text(quality_table(session, months=SPRING, settings=settings))

    lines = text.splitlines()
    assert lines[0].split()[-3:] == ["2026", "Juin", "2026"]
    assert lines[1].startswith("Délai moyen de traitement des courriels")
    assert lines[1].endswith("2,4 j     1,0 j          –")


def test_json_detail_names_the_period_and_the_grouping(
    session: Session, settings: Settings
) -> None:
    groups = compute_indicators(session, request=IndicatorRequest(months=SPRING), settings=settings)

    report = groups_report(groups, months=SPRING, dimensions=(), export_format=ExportFormat.JSON)

    assert report.filename == "indicateurs_2026-04_2026-06.json"
    assert b'"months":["2026-04","2026-05","2026-06"]' in report.content
