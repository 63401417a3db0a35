"""Signing in from the browser, and the pages' frame: DSFR, no script refused, accessible."""

from sqlalchemy import Engine

from backend.config import Settings
from tests.fixtures.web import (
    Browsing,
    agent_with_case,
    assert_accessible,
    screenshot,
    web_user,
)


def test_an_agent_signs_in_and_lands_on_their_inbox(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    _service, agent, case = agent_with_case(
        committed_engine, settings, slug="accueil", name="Accueil"
    )
    page = browsing.page

    page.goto("/dossiers")
    page.wait_for_url("**/connexion?suivant=/dossiers")
    assert_accessible(page)
    screenshot(page, name="connexion")
    browsing.sign_in(agent)

    assert page.get_by_role("heading", level=1).inner_text() == "Dossiers"
    assert page.get_by_role("link", name=case.reference).is_visible()
    assert_accessible(page)


def test_a_wrong_password_is_refused_with_a_message(
    browsing: Browsing, committed_engine: Engine
) -> None:
    agent = web_user(committed_engine)
    page = browsing.page
    page.goto("/connexion")
    page.get_by_role("textbox", name="Adresse électronique").fill(agent.email)
    page.get_by_label("Mot de passe", exact=True).fill("pas le bon mot de passe")
    page.get_by_role("button", name="Se connecter").click()

    assert "connexion" in page.url
    assert page.get_by_role("alert").is_visible()
    browsing.errors_expected = True  # the 401 of the form's answer is logged by Chromium
