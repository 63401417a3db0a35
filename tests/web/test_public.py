"""The public indicators: no sign-in, figures only, an embeddable version and an open-data CSV."""

import csv
import io
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from playwright.sync_api import Page
from sqlalchemy import Engine

from backend.config import Settings
from backend.indicators.periods import month_label, month_of, requested_months
from backend.models import Case
from backend.web.dashboard import previous_month
from tests.fixtures.web import Browsing, assert_accessible, screenshot
from tests.web.test_dashboard import row_cells, spring_cases

SPRING = "du=2026-04&au=2026-06"


def test_anyone_reads_the_published_table_and_charts_without_signing_in(
    browsing: Browsing, committed_engine: Engine
) -> None:
    cases = spring_cases(committed_engine)
    page = browsing.page

    response = page.goto(f"/indicateurs?{SPRING}")
    assert response is not None
    assert response.status == 200
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Indicateurs de qualité – Préfecture du Gers"
    )
    assert "5 jours ouvrés" in page.locator("main").inner_text()
    assert "10 jours ouvrés" in page.locator("main").inner_text()
    email = row_cells(
        page, table="tableau-qualite", label="Délai moyen de traitement des courriels"
    )
    assert email[2:] == ["2,4 j", "1,0 j", "–"]
    assert page.locator("#tableau-qualite a").count() == 0
    assert page.get_by_role("button", name="Se déconnecter").count() == 0
    _assert_no_case_shown(page.content(), cases=cases.values())
    for chart_id in ("graphique-delais", "graphique-taux"):
        box = page.locator(f"canvas#{chart_id}").bounding_box()
        assert box is not None
        assert min(box["width"], box["height"]) > 100
        assert page.evaluate("id => !!window.Chart.getChart(document.getElementById(id))", chart_id)
    code = page.get_by_label("Code à copier dans la page du site").input_value()
    assert code.startswith(f'<iframe src="{browsing.base_url}/indicateurs/integration"')
    assert_accessible(page)
    screenshot(page, name="indicateurs-publics")


def test_the_default_period_is_the_last_twelve_complete_months(
    browsing: Browsing, settings: Settings
) -> None:
    last = previous_month(month_of(settings.today()))
    expected = requested_months(first=None, last=last.key, today=settings.today())
    page = browsing.page
    page.goto("/indicateurs")

    headers = page.locator("#tableau-qualite thead th").all_inner_texts()
    assert headers[3:] == [month_label(month) for month in expected]
    assert page.get_by_role("textbox", name="Au mois").input_value() == last.key


def test_the_open_data_csv_parses_with_the_expected_columns(
    browsing: Browsing, committed_engine: Engine
) -> None:
    spring_cases(committed_engine)
    page = browsing.page
    page.goto(f"/indicateurs?{SPRING}")

    link = page.get_by_role("link", name="Télécharger le tableau des indicateurs")
    assert link.get_attribute("href") == f"/indicateurs.csv?{SPRING}"
    response = page.request.get(f"/indicateurs.csv?{SPRING}")
    assert response.status == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="tableau-qualite_2026-04_2026-06.csv"'
    )
    lines = list(csv.reader(io.StringIO(response.body().decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == [
        "Nom indicateur",
        "Périodicité / commentaire",
        "Objectif",
        "Avril 2026",
        "Mai 2026",
        "Juin 2026",
    ]
    assert lines[1] == [
        "Délai moyen de traitement des courriels",
        "Indicateur mensuel, sur 7 courriels répondus",
        "5 j maxi",
        "2,4",
        "1,0",
        "",
    ]


def test_the_integration_page_may_be_framed_by_any_site(
    browsing: Browsing, committed_engine: Engine
) -> None:
    cases = spring_cases(committed_engine)
    page = browsing.page

    response = page.goto(f"/indicateurs/integration?{SPRING}")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors *" in policy
    assert "script-src 'self'" in policy
    assert page.locator("header.fr-header").count() == 0
    assert page.locator("footer.fr-footer").count() == 0
    email = row_cells(
        page, table="tableau-qualite", label="Délai moyen de traitement des courriels"
    )
    assert email[2:] == ["2,4 j", "1,0 j", "–"]
    assert page.evaluate(
        "() => !!window.Chart.getChart(document.getElementById('graphique-delais'))"
    )
    _assert_no_case_shown(page.content(), cases=cases.values())
    assert_accessible(page)

    # The préfecture's site, another origin, frames it; the full page it may not frame.
    for path, framed in (("/indicateurs/integration", True), ("/indicateurs", False)):
        frame_urls, console = framed_by_another_site(page, url=f"{browsing.base_url}{path}")
        assert (f"{browsing.base_url}{path}" in frame_urls) is framed
        assert any("frame-ancestors" in text for text in console) is not framed


def framed_by_another_site(page: Page, *, url: str) -> tuple[list[str], list[str]]:
    """The URLs of the frames, and the console's messages, of a page of another site that
    frames url."""
    site = page.context.new_page()
    console: list[str] = []
    site.on("console", lambda message: console.append(message.text))
    with prefecture_site(f'<iframe src="{url}" title="Qualité"></iframe>') as site_url:
        site.goto(site_url)
        site.wait_for_load_state("load")
    frame_urls = [frame.url for frame in site.frames]
    site.close()
    return frame_urls, console


@contextmanager
def prefecture_site(html: str) -> Iterator[str]:
    """Another site (another port of the loopback) serving one page holding this HTML."""
    body = f"<!doctype html><html lang='fr'><title>Préfecture</title>{html}</html>".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _assert_no_case_shown(html: str, *, cases: Iterable[Case]) -> None:
    """No reference or subject of a case on a public page."""
    for case in cases:
        assert case.reference not in html
        assert case.subject not in html
