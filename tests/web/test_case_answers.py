"""Answering a case from its page: an e-mail from a canned reply, a standard letter filled in,
previewed, printed as PDF and sent; refusals in French."""

import subprocess
import uuid

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.models import (
    CannedReply,
    Case,
    CaseStatus,
    Letter,
    OutboxEmail,
    OutboxPurpose,
    Service,
)
from tests.backend.acknowledgements.test_acknowledgements import deliver_all, parsed
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.users import Agent, make_agent
from tests.fixtures.web import (
    Browsing,
    agent_with_case,
    assert_accessible,
    committed,
    mail_case,
    screenshot,
)

CANNED_BODY = (
    "Bonjour {{ citizen_name }},\n\nLe guichet du service {{ service.name }} est ouvert du lundi "
    "au vendredi, de 9 h à 16 h (dossier {{ reference }})."
)
HX = {"HX-Request": "true"}


# Through the browser


def test_an_agent_replies_by_email_with_a_canned_reply(
    browsing: Browsing, committed_engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    service, agent, case = agent_with_case(committed_engine, settings)
    committed(
        committed_engine,
        lambda session: session.add(
            CannedReply(service_id=service.id, title="Horaires du guichet", body=CANNED_BODY)
        ),
    )
    page = browsing.page
    browsing.sign_in(agent, next_path=f"/dossiers/{case.id}/reponse")

    expect(page.get_by_role("tab", name="Par courriel")).to_have_attribute("aria-selected", "true")
    page.get_by_label("Réponse type").select_option(label="Horaires du guichet")
    reply = page.get_by_label("Votre réponse")
    expect(reply).to_have_value(
        "Bonjour Camille Martin,\n\nLe guichet du service Accueil général est ouvert du lundi au "
        f"vendredi, de 9 h à 16 h (dossier {case.reference})."
    )
    assert_accessible(page)
    reply.fill(reply.input_value() + "\n\nCordialement.")
    page.get_by_role("button", name="Envoyer la réponse par courriel").click()

    expect(page.get_by_role("status").filter(has_text="Réponse envoyée")).to_have_text(
        "Réponse envoyée à camille.martin@example.org : le dossier est répondu."
    )
    # Answered when the relay accepts the e-mail, as the outbox worker records it.
    deliver_all(settings.model_copy(update={"smtp_url": smtp_server.url}), committed_engine)
    with Session(committed_engine) as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        assert stored.answered_at is not None
        assert stored.status is CaseStatus.ANSWERED
        outbox = session.exec(select(OutboxEmail).where(col(OutboxEmail.case_id) == case.id)).all()
        assert [(email.purpose, email.recipient) for email in outbox] == [
            (OutboxPurpose.REPLY, "camille.martin@example.org")
        ]
    (sent,) = smtp_server.messages
    body = parsed(sent).get_body(("plain",))
    assert body is not None
    assert "Cordialement." in body.get_content()


def test_an_agent_fills_previews_prints_and_sends_the_missing_documents_letter(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    _service, agent, case = agent_with_case(
        committed_engine, settings, slug="sejour", name="Bureau du séjour"
    )
    page = browsing.page
    browsing.sign_in(agent, next_path=f"/dossiers/{case.id}/reponse")

    page.get_by_role("tab", name="Par lettre type").click()
    page.get_by_label("Modèle de lettre").select_option("demande-pieces")
    documents = page.get_by_role("group", name="Pièces manquantes")
    document = settings.missing_documents_catalogue[0]
    # The DSFR draws its own boxes over the inputs: people click the labels.
    documents.get_by_text(document, exact=True).click()
    documents.get_by_label("Autres (une par ligne)").fill("Acte de naissance traduit")
    expect(page.get_by_label("Délai pour les fournir, en jours ouvrés")).to_have_value("15")
    page.get_by_role("button", name="Afficher l’aperçu").click()
    preview = page.frame_locator("iframe[name=qp-apercu-lettre]")
    expect(preview.get_by_text("Camille Martin").first).to_be_visible()
    expect(preview.get_by_text("Acte de naissance traduit")).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Télécharger le PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{case.reference}-demande-pieces.pdf"
    path = download.path()
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert case.reference in text
    assert "Camille Martin" in text
    # Chromium paints a frame out of the viewport only once it has been in it.
    page.locator("iframe[name=qp-apercu-lettre]").scroll_into_view_if_needed()
    screenshot(page, name="lettre-type")

    page.get_by_text("Par courriel, la lettre en PDF jointe").click()
    expect(page.get_by_label("Par courriel, la lettre en PDF jointe")).to_be_checked()
    page.get_by_role("button", name="Envoyer la lettre").click()

    expect(page.get_by_role("status").filter(has_text="Lettre")).to_have_text(
        "Lettre « Demande de pièces complémentaires – renouvellement de titre de séjour » "
        "envoyée par courriel à camille.martin@example.org ; "
        "le dossier attend les pièces du demandeur."
    )
    with Session(committed_engine) as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        assert stored.status is CaseStatus.WAITING_CITIZEN
        letter = session.exec(select(Letter).where(col(Letter.case_id) == case.id)).one()
        assert letter.variables["documents"] == [document, "Acte de naissance traduit"]
        assert letter.outbox_email_id is not None


def test_the_answer_tools_load_into_the_case_page(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    _service, agent, case = agent_with_case(committed_engine, settings)
    page = browsing.page
    browsing.sign_in(agent, next_path=f"/dossiers/{case.id}")
    section = page.locator("#repondre")

    # The DSFR's tabs work in the fragment htmx inserted.
    section.get_by_role("tab", name="Par lettre type").click()
    expect(section.get_by_role("tab", name="Par lettre type")).to_have_attribute(
        "aria-selected", "true"
    )
    section.get_by_label("Modèle de lettre").select_option("reponse-libre")
    section.get_by_label("Texte de la réponse").fill("Le guichet ouvre à 9 h.")
    assert_accessible(page)
    section.get_by_text("Par la poste : imprimez le PDF").click()
    section.get_by_role("button", name="Envoyer la lettre").click()

    page.wait_for_url(f"**/dossiers/{case.id}?envoi=lettre")
    expect(page.locator("#repondre").get_by_role("status")).to_contain_text(
        "Lettre « Réponse libre » enregistrée comme envoyée par la poste"
    )
    with Session(committed_engine) as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        assert stored.status is CaseStatus.ANSWERED
        assert stored.answered_at is not None


# Without a browser


@pytest.fixture
def answering(session: Session, settings: Settings) -> tuple[Agent, Case]:
    """An agent of the service in charge of a citizen's new case."""
    service = Service(slug=f"accueil-{uuid.uuid4().hex[:6]}", name="Accueil général")
    session.add(service)
    session.flush()
    case = mail_case(session, settings, service=service)
    return make_agent(session, services=[service]), case


def test_a_reply_on_a_stale_version_is_refused_in_french(
    browser: TestClient, answering: tuple[Agent, Case]
) -> None:
    agent, case = answering

    response = browser.post(
        f"/dossiers/{case.id}/reponse/courriel",
        data={"version": str(case.version + 1), "texte": "Bonjour."},
        headers={**agent.headers, **HX},
    )

    assert response.status_code == 409
    assert "a été modifié entre-temps" in response.text
    assert "rechargez-le" in response.text
    assert 'class="fr-alert fr-alert--error' in response.text
    assert case.answered_at is None


def test_a_reply_left_with_a_canned_variable_is_refused(
    browser: TestClient, answering: tuple[Agent, Case]
) -> None:
    agent, case = answering

    response = browser.post(
        f"/dossiers/{case.id}/reponse/courriel",
        data={"version": str(case.version), "texte": "Rendez-vous le {{ rendez_vous }}."},
        headers={**agent.headers, **HX},
    )

    assert response.status_code == 422
    assert "la variable « rendez_vous »" in response.text


def test_a_canned_reply_with_an_unknown_variable_is_shown_raw_with_the_reason(
    browser: TestClient, session: Session, answering: tuple[Agent, Case]
) -> None:
    agent, case = answering
    canned = CannedReply(title="Rendez-vous", body="Votre rendez-vous : {{ rendez_vous }}.")
    session.add(canned)
    session.flush()

    response = browser.get(
        f"/dossiers/{case.id}/reponse/modele",
        params={"reponse_type": canned.id},
        headers={**agent.headers, **HX},
    )

    assert response.status_code == 200
    assert "Votre rendez-vous : {{ rendez_vous }}." in response.text
    assert "rendez_vous" in response.text.split("fr-error-text")[1]


def test_the_answer_page_is_a_fragment_for_htmx_and_a_page_otherwise(
    browser: TestClient, answering: tuple[Agent, Case]
) -> None:
    agent, case = answering

    fragment = browser.get(f"/dossiers/{case.id}/reponse", headers={**agent.headers, **HX})
    full = browser.get(f"/dossiers/{case.id}/reponse", headers=agent.headers)

    assert fragment.status_code == full.status_code == 200
    assert "<html" not in fragment.text
    assert 'class="fr-tabs"' in fragment.text
    assert "<h1>" in full.text
    assert f'href="/dossiers/{case.id}">Dossier {case.reference}</a>' in full.text


def test_a_closed_case_says_why_it_cannot_be_answered(
    browser: TestClient, session: Session, answering: tuple[Agent, Case]
) -> None:
    agent, case = answering
    case.status = CaseStatus.CLOSED
    session.add(case)
    session.flush()

    response = browser.get(f"/dossiers/{case.id}/reponse", headers={**agent.headers, **HX})

    assert "Ce dossier est « clos » : on ne peut plus y répondre." in response.text
    assert "rouvrir" in response.text
    assert "fr-tabs" not in response.text


def test_the_letter_preview_has_a_policy_of_its_own_and_errors_in_french(
    browser: TestClient, answering: tuple[Agent, Case]
) -> None:
    agent, case = answering
    form = {"modele": "reponse-libre", "version": str(case.version)}

    shown = browser.post(
        f"/dossiers/{case.id}/reponse/lettre/apercu",
        data={**form, "variable_message": "Le guichet ouvre à 9 h."},
        headers=agent.headers,
    )
    refused = browser.post(
        f"/dossiers/{case.id}/reponse/lettre/apercu", data=form, headers=agent.headers
    )

    assert shown.status_code == 200
    assert "Le guichet ouvre à 9 h." in shown.text
    policy = shown.headers["Content-Security-Policy"]
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert "default-src 'none'" in policy
    assert refused.status_code == 422
    assert "est obligatoire" in refused.text


def test_a_letter_posted_answers_the_case(
    browser: TestClient, session: Session, answering: tuple[Agent, Case]
) -> None:
    agent, case = answering

    response = browser.post(
        f"/dossiers/{case.id}/reponse/lettre/envoyer",
        data={
            "modele": "reponse-libre",
            "version": str(case.version),
            "variable_message": "Le guichet ouvre à 9 h.",
            "canal": "post",
        },
        headers={**agent.headers, **HX, "HX-Current-URL": f"https://testserver/dossiers/{case.id}"},
    )
    page = browser.get(
        f"/dossiers/{case.id}/reponse",
        headers={
            **agent.headers,
            **HX,
            "HX-Current-URL": f"https://testserver/dossiers/{case.id}?envoi=lettre",
        },
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/dossiers/{case.id}?envoi=lettre"
    session.refresh(case)
    assert case.status is CaseStatus.ANSWERED
    assert case.answered_at is not None
    assert "Lettre « Réponse libre » enregistrée comme envoyée par la poste" in page.text
    assert "le dossier est répondu" in page.text
