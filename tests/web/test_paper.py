"""Registering paper mail from the browser: the reference to write on the envelope, the scan
attached, and the form refused field by field."""

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.models import Attachment, Case, CaseChannel, CaseKind, Message, Service
from tests.fixtures.users import make_agent
from tests.fixtures.web import (
    Browsing,
    assert_accessible,
    committed_service,
    screenshot,
    web_user,
)

SCAN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_an_agent_registers_a_letter_with_its_scan(
    browsing: Browsing, committed_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    service = committed_service(committed_engine, slug="accueil", name="Accueil général")
    agent = web_user(committed_engine, services=[service])
    scan = tmp_path / "lettre.pdf"
    scan.write_bytes(SCAN)
    received = settings.today() - timedelta(days=3)
    page = browsing.page
    browsing.sign_in(agent)

    page.get_by_role("link", name="Enregistrer un courrier").click()
    page.wait_for_url("**/courriers/nouveau")
    assert page.get_by_role(
        "radio", name="Courrier (lettre reçue par la poste ou déposée)"
    ).is_checked()
    assert page.get_by_label("Date de réception").input_value() == settings.today().isoformat()
    assert page.get_by_label("Service chargé du dossier").input_value() == str(service.id)
    assert_accessible(page)
    page.get_by_label("Date de réception").fill(received.isoformat())
    page.get_by_label("Nom et prénom de l’expéditeur").fill("Mme Jeanne Martin")
    page.get_by_label("Adresse postale").fill("4 rue Gambetta\n32000 Auch")
    page.get_by_label("Objet").fill("Demande de rendez-vous pour une carte grise")
    page.get_by_label("Courrier numérisé").set_input_files(scan)
    screenshot(page, name="courrier-papier")
    page.get_by_role("button", name="Enregistrer le courrier").click()

    page.wait_for_url("**/courriers/*/enregistre")
    assert page.get_by_role("heading", level=1).inner_text() == "Courrier enregistré"
    reference = page.locator("#reference-dossier").inner_text()
    assert "Référence à reporter sur le courrier" in page.locator(".fr-callout").inner_text()
    assert page.get_by_role("link", name="Enregistrer un autre courrier").is_visible()
    assert_accessible(page)
    screenshot(page, name="courrier-papier-enregistre")
    with Session(committed_engine) as session:
        case = session.exec(select(Case).where(col(Case.reference) == reference)).one()
        assert case.channel is CaseChannel.PAPER
        assert case.kind is CaseKind.INFORMATION_REQUEST
        assert case.received_on == received
        assert case.service_id == service.id
        assert case.sender_postal_address == "4 rue Gambetta\n32000 Auch"
        scans = session.exec(
            select(Attachment)
            .join(Message, col(Message.id) == col(Attachment.message_id))
            .where(col(Message.case_id) == case.id)
        ).all()
        assert [(a.content_type, a.size) for a in scans] == [("application/pdf", len(SCAN))]
    assert (
        page.get_by_role("link", name=f"Ouvrir le dossier {reference}").get_attribute("href")
        == f"/dossiers/{case.id}"
    )

    page.get_by_role("link", name="Enregistrer un autre courrier").click()
    page.wait_for_url("**/courriers/nouveau")


def test_a_future_date_is_refused_next_to_the_field(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    agent = web_user(committed_engine)
    tomorrow = settings.today() + timedelta(days=1)
    page = browsing.page
    browsing.sign_in(agent)
    page.goto("/courriers/nouveau")

    page.get_by_text("Boîte à suggestions (bulletin)", exact=True).click()
    page.get_by_label("Date de réception").fill(tomorrow.isoformat())
    page.get_by_label("Nom et prénom de l’expéditeur").fill("Anonyme")
    page.get_by_label("Objet").fill("Plus de chaises dans la salle d'attente")
    page.get_by_role("button", name="Enregistrer le courrier").click()

    error = page.locator("#received_on-erreur")
    assert "ne peut pas être postérieure à aujourd'hui" in error.inner_text()
    assert page.locator("#received_on-groupe.fr-input-group--error").count() == 1
    assert page.get_by_label("Date de réception").get_attribute("aria-describedby") == (
        "received_on-erreur"
    )
    # The form comes back filled in, the channel chosen kept.
    assert page.get_by_label("Objet").input_value() == "Plus de chaises dans la salle d'attente"
    assert page.get_by_role("radio", name="Boîte à suggestions (bulletin)").is_checked()
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page)
    with Session(committed_engine) as session:
        assert session.exec(select(Case)).all() == []
    browsing.errors_expected = True  # Chromium logs the form's 422 answer


def test_the_form_is_refused_with_each_error_and_nothing_registered(
    session: Session, browser: TestClient, settings: Settings
) -> None:
    mine = Service(slug="accueil-papier", name="Accueil général")
    other = Service(slug="sejour-papier", name="Bureau du séjour")
    session.add_all([mine, other])
    session.flush()
    agent = make_agent(session, services=[mine])
    response = browser.post(
        "/courriers/nouveau",
        headers=agent.headers,
        data={
            "channel": "email",
            "received_on": "demain",
            "kind": "inconnue",
            "sender_name": " ",
            "sender_email": "pas une adresse",
            "subject": "x" * 1001,
            "service_id": str(other.id),
        },
        files={"scan": ("lettre.pdf", b"<html>pas un PDF</html>", "application/pdf")},
    )

    assert response.status_code == 422
    for field in (
        "channel",
        "received_on",
        "kind",
        "sender_name",
        "sender_email",
        "subject",
        "service_id",
        "scan",
    ):
        assert f'id="{field}-erreur"' in response.text, field
    assert "Le fichier envoyé n&#39;est pas un PDF." in response.text
    assert "pas une adresse" in response.text
    assert session.exec(select(Case)).all() == []


def test_a_suggestion_slip_without_scan_is_a_suggestion_by_default(
    session: Session, browser: TestClient, settings: Settings
) -> None:
    agent = make_agent(session)
    response = browser.post(
        "/courriers/nouveau",
        headers=agent.headers,
        data={
            "channel": "suggestion_box",
            "received_on": settings.today().isoformat(),
            "sender_name": "Anonyme",
            "subject": "Un distributeur de tickets à l'accueil",
        },
        files={"scan": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )

    assert response.status_code == 303, response.text
    case = session.exec(select(Case)).one()
    assert (case.channel, case.kind, case.service_id) == (
        CaseChannel.SUGGESTION_BOX,
        CaseKind.SUGGESTION,
        None,
    )
    assert response.headers["location"] == f"/courriers/{case.id}/enregistre"
    page = browser.get(response.headers["location"], headers=agent.headers)
    assert case.reference in page.text
    assert "Boîte à suggestions" in page.text
