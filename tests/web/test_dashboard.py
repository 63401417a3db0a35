"""The quality dashboard in the browser: the monthly table of a hand-built spring, the cases
behind a figure, the manual indicators, the exports, the charts and the backlog per service."""

import csv
import io
import re
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from playwright.sync_api import Page
from sqlalchemy import Engine
from sqlmodel import Session

from backend.models import Case, IndicatorUnit, ManualIndicator, Service, UserRole
from tests.backend.indicators.dataset import add_cases
from tests.fixtures.users import make_agent
from tests.fixtures.web import (
    PASSWORD,
    Browsing,
    assert_accessible,
    committed,
    committed_service,
    screenshot,
    web_user,
)

SPRING = "/qualite?du=2026-04&au=2026-06"


def spring_cases(engine: Engine, *, service: Service | None = None) -> dict[str, Case]:
    """The hand-built spring of tests/backend/indicators/dataset.py, committed; K and Q owned
    by the service."""
    cases: dict[str, Case] = {}

    def build(session: Session) -> None:
        cases.update(add_cases(session))
        if service is not None:
            for name in ("K", "Q"):
                cases[name].service_id = service.id

    committed(engine, build)
    return cases


def row_cells(page: Page, *, table: str, label: str) -> list[str]:
    """The figures of a row's cells (its header excluded), without the links' hidden words."""
    row = page.locator(f"#{table} tbody tr", has=page.get_by_role("rowheader", name=label))
    return [text.split("\n")[0].strip() for text in row.locator("td").all_inner_texts()]


def test_the_quality_manager_reads_the_table_and_the_cases_behind_a_figure(
    browsing: Browsing, committed_engine: Engine
) -> None:
    cases = spring_cases(committed_engine)
    manager = web_user(committed_engine, role=UserRole.QUALITY_MANAGER)
    page = browsing.page
    browsing.sign_in(manager)

    response = page.goto(SPRING)
    assert response is not None
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord qualité"
    headers = page.locator("#tableau-qualite thead th").all_inner_texts()
    assert headers[-3:] == ["Avril 2026", "Mai 2026", "Juin 2026"]
    email = row_cells(
        page, table="tableau-qualite", label="Délai moyen de traitement des courriels"
    )
    assert email[0] == "Indicateur mensuel, sur 7 courriels répondus"
    assert email[2:] == ["2,4 j", "1,0 j", "–"]
    paper = row_cells(
        page, table="tableau-qualite", label="Délai moyen de traitement des courriers"
    )
    assert paper[2:] == ["–", "6,5 j", "–"]
    rate = row_cells(
        page, table="tableau-qualite", label="Taux de réponse aux courriels sous 5 jours"
    )
    assert rate[2:] == ["80,00 %", "100,00 %", "–"]
    assert row_cells(page, table="volumes", label="Dossiers reçus") == [
        "7",
        "4",
        "2",
    ]
    answered = row_cells(page, table="volumes", label="Dossiers répondus")
    assert answered == ["5", "4", "0"]
    assert_accessible(page)
    screenshot(page, name="qualite")

    page.locator("#tableau-qualite tbody tr").first.get_by_role("link").first.click()
    page.wait_for_url("**/qualite/dossiers?mois=2026-04&mesure=answered&canal=email")
    assert "Dossiers répondus en avril 2026" in page.get_by_role("heading", level=1).inner_text()
    shown = page.locator("#dossiers-du-chiffre tbody th").all_inner_texts()
    # E-mails answered in April: A, B, C, D and the complaint E; L was merged into A.
    assert shown == [cases[name].reference for name in "ABCDE"]
    assert_accessible(page)


def test_both_charts_are_drawn_by_chart_js(browsing: Browsing, committed_engine: Engine) -> None:
    spring_cases(committed_engine)
    agent = web_user(committed_engine)
    page = browsing.page
    browsing.sign_in(agent)
    page.goto(SPRING)

    for chart_id in ("graphique-delais", "graphique-taux"):
        canvas = page.locator(f"canvas#{chart_id}")
        box = canvas.bounding_box()
        assert box is not None
        assert min(box["width"], box["height"]) > 100
        assert canvas.get_attribute("aria-label", timeout=1000)
        described = page.locator(f"#{canvas.get_attribute('aria-describedby')}")
        assert "tableau" in described.inner_text()
        drawn = page.evaluate(
            "id => window.Chart.getChart(document.getElementById(id)).data.datasets.length",
            chart_id,
        )
        assert drawn >= 2  # the figures and their target line
    delays = page.evaluate(
        "() => window.Chart.getChart(document.getElementById('graphique-delais'))"
        ".data.datasets.map(d => [d.label, d.data])"
    )
    assert ["Courriels", [2.4, 1.0, None]] in delays
    assert ["Objectif courriers : 10 j", [10, 10, 10]] in delays


def test_an_agent_sees_the_figures_but_not_the_cases_behind_them(
    browsing: Browsing, committed_engine: Engine
) -> None:
    spring_cases(committed_engine)
    agent = web_user(committed_engine)
    page = browsing.page
    browsing.sign_in(agent)

    page.goto(SPRING)
    assert page.locator("#tableau-qualite a").count() == 0
    assert_accessible(page)
    assert page.get_by_role("link", name="Saisir les indicateurs manuels").count() == 0
    response = page.goto("/qualite/dossiers?mois=2026-04&mesure=answered&canal=email")
    assert response is not None
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Accès refusé"
    assert "TEST-2026" not in page.content()
    browsing.errors_expected = True  # Chromium logs the 403


def test_a_manual_value_entered_shows_in_the_table(
    browsing: Browsing, committed_engine: Engine
) -> None:
    committed(
        committed_engine,
        lambda session: session.add(
            ManualIndicator(
                label="Taux d'appels décrochés",
                target="90,00 %",
                unit=IndicatorUnit.PERCENT,
                position=10,
            )
        ),
    )
    manager = web_user(committed_engine, role=UserRole.QUALITY_MANAGER)
    page = browsing.page
    browsing.sign_in(manager)

    page.goto("/qualite")
    page.get_by_role("link", name="Saisir les indicateurs manuels").click()
    page.get_by_role("textbox", name="Mois").fill("2026-05")
    page.get_by_role("button", name="Afficher ce mois").click()
    page.get_by_label("Taux d'appels décrochés").fill("89,65")
    page.get_by_role("button", name="Enregistrer les valeurs de mai 2026").click()
    assert (
        page.get_by_role("status").filter(has_text="Valeurs de mai 2026 enregistrées").is_visible()
    )
    assert page.get_by_label("Taux d'appels décrochés").input_value() == "89,65"
    assert_accessible(page)

    page.goto(SPRING)
    calls = row_cells(page, table="tableau-qualite", label="Taux d'appels décrochés")
    assert calls == ["Indicateur mensuel", "90,00 %", "–", "89,65 %", "–"]


def test_the_export_links_download_the_table_of_the_period(
    browsing: Browsing, committed_engine: Engine, tmp_path: Path
) -> None:
    spring_cases(committed_engine)
    agent = web_user(committed_engine)
    page = browsing.page
    browsing.sign_in(agent)
    page.goto(SPRING)

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Télécharger le tableau (CSV)").click()
    assert csv_download.value.suggested_filename == "tableau-qualite_2026-04_2026-06.csv"
    text = Path(csv_download.value.path()).read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0][-3:] == ["Avril 2026", "Mai 2026", "Juin 2026"]
    assert lines[1][0] == "Délai moyen de traitement des courriels"
    assert lines[1][-3:] == ["2,4", "1,0", ""]

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Télécharger le tableau (XLSX)").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    target = tmp_path / "tableau.xlsx"
    xlsx_download.value.save_as(target)
    sheet = load_workbook(target).active
    assert sheet is not None
    assert sheet.cell(row=2, column=4).value == 2.4


def test_the_backlog_counts_open_and_overdue_cases_per_service(
    browsing: Browsing, committed_engine: Engine
) -> None:
    service = committed_service(committed_engine, slug="courrier", name="Bureau du courrier")
    spring_cases(committed_engine, service=service)
    manager = web_user(committed_engine, role=UserRole.SERVICE_HEAD)
    page = browsing.page
    browsing.sign_in(manager)
    page.goto("/qualite")

    # Never answered: J and O (no service), K and Q (the service); all past their due date.
    cells = row_cells(page, table="stock", label="Bureau du courrier")
    assert cells[:3] == ["2", "2 EN RETARD", "16/03/2026"]
    assert row_cells(page, table="stock", label="Sans service (à orienter)")[:3] == [
        "2",
        "2 EN RETARD",
        "29/05/2026",
    ]
    assert page.locator("#stock tfoot td").first.inner_text() == "4"


def test_a_wrong_period_figure_or_value_is_refused_in_french(
    browser: TestClient, session: Session
) -> None:
    calls = ManualIndicator(label="Taux d'appels décrochés", unit=IndicatorUnit.PERCENT)
    session.add(calls)
    manager = make_agent(session, role=UserRole.QUALITY_MANAGER, password=PASSWORD)
    signed_in = browser.post(
        "/connexion",
        data={"email": manager.user.email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303

    period = browser.get("/qualite?du=2026-13&au=2026-06")
    assert period.status_code == 422
    assert "Mois invalide « 2026-13 »" in period.text
    figure = browser.get("/qualite/dossiers?mois=2026-04&mesure=lus")
    assert figure.status_code == 422
    assert "Mesure inconnue « lus »" in figure.text
    form = browser.get("/qualite/indicateurs-manuels?mois=2026-05")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    refused = browser.post(
        "/qualite/indicateurs-manuels",
        data={
            "csrf_token": token.group(1),
            "mois": "2026-05",
            "indicateur": str(calls.id),
            "valeur": "beaucoup",
        },
    )
    assert refused.status_code == 422
    assert "Saisissez un nombre" in refused.text
    assert 'value="beaucoup"' in refused.text
