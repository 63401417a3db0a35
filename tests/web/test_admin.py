"""The administration pages from the browser: mailboxes and their connection test, accounts and
services, letter templates, the outbox; administrators only."""

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.models import (
    AuditEvent,
    Mailbox,
    OutboxEmail,
    OutboxPurpose,
    OutboxStatus,
    Service,
    ServiceMembership,
    User,
    UserRole,
)
from backend.models.types import utc_now
from tests.fixtures.dovecot import HOST, free_port
from tests.fixtures.users import make_agent
from tests.fixtures.web import (
    Browsing,
    assert_accessible,
    citizen_case,
    committed,
    committed_service,
    screenshot,
    web_user,
)

IMAP_ERROR = (
    "Identifiants refusés par imap.gers.gouv.fr pour « contact » (vérifiez le mot de passe)"
)
SMTP_ERROR = "550 5.1.1 <inconnu@example.org>: adresse inconnue"


def _mailbox(engine: Engine, *, slug: str, port: int = 993, error: str | None = None) -> Mailbox:
    """A committed mailbox; with an error, as the poller leaves one that failed."""
    with Session(engine, expire_on_commit=False) as session:
        mailbox = create_mailbox(
            session,
            mailbox_in=MailboxCreate(
                slug=slug,
                address=f"{slug}@gers.gouv.fr",
                imap_host=HOST,
                imap_port=port,
                imap_tls="none",
                imap_username=slug,
                password_env="WEB_ADMIN_IMAP_PASSWORD",
                start_date=date(2020, 1, 1),
            ),
        )
        if error is not None:
            mailbox.last_poll_at = mailbox.last_error_at = utc_now()
            mailbox.last_error = error
            mailbox.consecutive_failures = 3
        session.commit()
        return mailbox


def test_an_admin_sees_the_mailboxes_last_error_and_tests_a_connection(
    browsing: Browsing, committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_ADMIN_IMAP_PASSWORD", "secret de test")
    _mailbox(committed_engine, slug="contact", error=IMAP_ERROR)
    closed_port = free_port()
    _mailbox(committed_engine, slug="sejour", port=closed_port)
    admin = web_user(committed_engine, role=UserRole.ADMIN)
    page = browsing.page
    browsing.sign_in(admin)

    page.get_by_role("link", name="Administration").click()
    page.wait_for_url("**/administration/boites")
    assert page.get_by_role("heading", level=1).inner_text() == "Boîtes aux lettres"
    contact = page.locator("#boite-contact")
    assert contact.locator(".fr-badge--error").text_content() == "Erreur"
    assert IMAP_ERROR in contact.inner_text()
    assert "3 échecs consécutifs" in contact.inner_text()
    assert_accessible(page)
    screenshot(page, name="administration-boites")

    page.get_by_role("button", name="Tester la connexion de la boîte sejour").click()
    diagnosis = page.locator("#diagnostic-sejour .fr-alert--error")
    diagnosis.wait_for()
    assert "Échec de la connexion." in diagnosis.inner_text()
    assert f"Connexion refusée par {HOST}:{closed_port}" in diagnosis.inner_text()
    assert_accessible(page)

    page.get_by_role("button", name="Désactiver la boîte sejour").click()
    page.wait_for_url("**/administration/boites?avis=boite-desactivee*")
    assert "ne sera plus relevée" in page.locator("#annonces").inner_text()
    assert page.locator("#boite-sejour").get_by_text("Désactivée", exact=True).is_visible()
    with Session(committed_engine) as session:
        sejour = session.exec(select(Mailbox).where(col(Mailbox.slug) == "sejour")).one()
        assert sejour.enabled is False
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "mailbox.updated")
        ).one()
        assert (event.actor_user_id, event.object_id) == (admin.id, str(sejour.id))
        assert event.changes == {"enabled": [True, False]}


def test_an_admin_creates_an_account_who_then_signs_in(
    browsing: Browsing, committed_engine: Engine
) -> None:
    service = committed_service(committed_engine, slug="sejour", name="Bureau du séjour")
    admin = web_user(committed_engine, first_name="Alice", role=UserRole.ADMIN)
    email = f"nadia.{uuid.uuid4().hex[:6]}@gers.gouv.fr"
    password = "un mot de passe assez long"
    page = browsing.page
    browsing.sign_in(admin)

    page.goto("/administration/utilisateurs")
    assert_accessible(page)
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Prénom").fill("Nadia")
    page.get_by_label("Nom", exact=True).fill("Benali")
    page.get_by_label("Fonction").fill("Cheffe du bureau du séjour")
    page.get_by_label("Rôle").select_option(label="Chef de service")
    page.get_by_text("Bureau du séjour", exact=True).click()
    page.get_by_label("Mot de passe (facultatif)").fill(password)
    page.get_by_role("button", name="Créer le compte").click()

    page.wait_for_url("**/administration/utilisateurs?avis=compte-cree")
    assert page.get_by_role("status").filter(has_text="Le compte a été créé.").is_visible()
    row = page.get_by_role("row").filter(has_text=email)
    assert "Chef de service" in row.inner_text()
    assert "Bureau du séjour" in row.inner_text()
    with Session(committed_engine, expire_on_commit=False) as session:
        created = session.exec(select(User).where(col(User.email) == email)).one()
        assert created.role is UserRole.SERVICE_HEAD
        assert session.get(ServiceMembership, (created.id, service.id)) is not None
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.object_id) == str(created.id))
        ).all()
        assert sorted(actions) == ["user.created", "user.password_set"]

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/connexion")
    browsing.sign_in(created, password=password)
    assert "Nadia Benali" in page.locator("#utilisateur-connecte").inner_text()


def test_an_admin_changes_an_account_and_adds_a_service(
    browsing: Browsing, committed_engine: Engine
) -> None:
    admin = web_user(committed_engine, first_name="Alice", role=UserRole.ADMIN)
    agent = web_user(committed_engine, first_name="Bruno")
    page = browsing.page
    browsing.sign_in(admin)

    page.goto("/administration/services")
    page.locator("#name").fill("Accueil général")
    page.get_by_label("Identifiant").fill("accueil")
    page.get_by_role("button", name="Créer le service").click()
    page.wait_for_url("**/administration/services?avis=service-cree")
    assert page.get_by_role("row").filter(has_text="Accueil général").is_visible()
    assert_accessible(page)

    page.goto("/administration/utilisateurs")
    page.get_by_role("link", name="Modifier le compte de Bruno Dupont").click()
    page.wait_for_url("**/administration/utilisateurs/modifier?compte=*")
    assert_accessible(page)
    page.get_by_text("Accueil général", exact=True).click()
    page.get_by_text("Compte actif : l’agent peut se connecter").click()
    page.get_by_role("button", name="Enregistrer les modifications").click()
    page.wait_for_url("**/administration/utilisateurs?avis=compte-modifie")

    with Session(committed_engine) as session:
        changed = session.get(User, agent.id)
        assert changed is not None
        assert changed.is_active is False
        service = session.exec(select(Service).where(col(Service.slug) == "accueil")).one()
        assert session.get(ServiceMembership, (agent.id, service.id)) is not None
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "user.updated")
        ).one()
        assert event.changes["is_active"] == [True, False]
        assert event.changes["service_ids"] == [[], [service.id]]


def test_the_letter_templates_are_listed_and_previewed_in_a_sandboxed_frame(
    browsing: Browsing, committed_engine: Engine
) -> None:
    admin = web_user(committed_engine, role=UserRole.ADMIN)
    page = browsing.page
    browsing.sign_in(admin)

    page.goto("/administration/modeles")
    assert page.get_by_role("cell", name="Réponse libre", exact=True).is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Aperçu de « Réponse libre »").click()
    page.wait_for_url("**/administration/modeles/apercu?modele=reponse-libre")

    frame = page.locator("iframe.qp-admin-letter")
    assert frame.get_attribute("sandbox") == ""
    letter = page.frame_locator("iframe.qp-admin-letter").locator("body")
    assert "Mme Jeanne Exemple" in letter.inner_text()
    assert "exemple de texte saisi par l'agent" in letter.inner_text()
    assert "Texte de la réponse : exemple" in page.locator(".qp-admin-email").inner_text()
    assert_accessible(page)


def test_the_outbox_lists_a_failed_email_and_resends_it(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    case = citizen_case(committed_engine, settings)

    def failed_email(session: Session) -> None:
        session.add(
            OutboxEmail(
                case_id=case.id,
                purpose=OutboxPurpose.REPLY,
                rfc_message_id=f"<{uuid.uuid4().hex}@gers.gouv.fr>",
                from_address="prefecture@gers.gouv.fr",
                recipients=["inconnu@example.org"],
                recipient="inconnu@example.org",
                subject=f"Réponse à votre demande [{case.reference}]",
                status=OutboxStatus.FAILED,
                attempts=5,
                last_error=SMTP_ERROR,
            )
        )
        session.add(
            OutboxEmail(
                purpose=OutboxPurpose.ALERT,
                rfc_message_id=f"<{uuid.uuid4().hex}@gers.gouv.fr>",
                from_address="prefecture@gers.gouv.fr",
                recipients=["accueil@gers.gouv.fr"],
                subject="Dossiers en retard",
                status=OutboxStatus.SENT,
                attempts=1,
                sent_at=utc_now(),
            )
        )

    committed(committed_engine, failed_email)
    admin = web_user(committed_engine, role=UserRole.ADMIN)
    page = browsing.page
    browsing.sign_in(admin)

    page.goto("/administration/envois")
    assert page.get_by_role("row").filter(has_text="Dossiers en retard").is_visible()
    page.get_by_label("État").select_option("failed")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**/administration/envois?statut=failed")
    assert page.get_by_role("row").filter(has_text="Dossiers en retard").count() == 0
    row = page.get_by_role("row").filter(has_text="inconnu@example.org")
    assert row.locator(".fr-badge--error").text_content() == "En échec"
    assert SMTP_ERROR in row.inner_text()
    assert row.get_by_role("link", name=case.reference).get_attribute("href") == (
        f"/dossiers/{case.id}"
    )
    assert_accessible(page)
    screenshot(page, name="administration-envois")

    row.get_by_role("button").filter(has_text="Renvoyer").click()
    page.wait_for_url("**/administration/envois?statut=failed&avis=courriel-renvoye")
    assert "remis en file d'envoi" in page.locator("#annonces").inner_text()
    assert page.get_by_role("row").filter(has_text="inconnu@example.org").count() == 0
    with Session(committed_engine) as session:
        email = session.exec(
            select(OutboxEmail).where(col(OutboxEmail.recipient) == "inconnu@example.org")
        ).one()
        assert email.status in {OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT}
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "outbox.requeued")
        ).one()
        assert event.changes == {"status": ["failed", "queued"]}


def test_an_agent_gets_the_403_page(browsing: Browsing, committed_engine: Engine) -> None:
    agent = web_user(committed_engine)
    page = browsing.page
    browsing.sign_in(agent)
    assert page.get_by_role("link", name="Administration").count() == 0

    response = page.goto("/administration/boites")

    assert response is not None
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Accès refusé"
    assert_accessible(page)
    browsing.errors_expected = True  # Chromium logs the 403 answer


def test_account_forms_refuse_bad_values_field_by_field(
    session: Session, browser: TestClient
) -> None:
    admin = make_agent(session, role=UserRole.ADMIN)

    created = browser.post(
        "/administration/utilisateurs",
        headers=admin.headers,
        data={
            "email": "pas une adresse",
            "first_name": "",
            "last_name": "Benali",
            "role": "pape",
            "password": "court",
        },
    )
    changed = browser.post(
        "/administration/utilisateurs/modifier",
        headers=admin.headers,
        data={
            "user_id": str(admin.user.id),
            "first_name": "Claire",
            "last_name": "Dupont",
            "role": "agent",
            "is_active": "oui",
        },
    )
    service = browser.post(
        "/administration/services",
        headers=admin.headers,
        data={"slug": "Bureau Séjour", "name": "", "email": "x"},
    )

    assert created.status_code == 422
    for field in ("email", "first_name", "role", "password"):
        assert f'id="{field}-erreur"' in created.text, field
    assert changed.status_code == 422
    assert "Vous ne pouvez pas retirer votre propre rôle d&#39;administrateur." in changed.text
    assert service.status_code == 422
    for field in ("slug", "name", "email"):
        assert f'id="{field}-erreur"' in service.text, field
    assert session.exec(select(User).where(col(User.last_name) == "Benali")).all() == []
    assert session.exec(select(Service)).all() == []


def test_unknown_things_answer_404_pages(session: Session, browser: TestClient) -> None:
    admin = make_agent(session, role=UserRole.ADMIN)
    html = {**admin.headers, "Accept": "text/html"}

    assert browser.get("/administration", headers=html, follow_redirects=False).headers[
        "location"
    ] == ("/administration/boites")
    for response in (
        browser.get("/administration/utilisateurs/modifier?compte=99999999", headers=html),
        browser.get("/administration/modeles/apercu?modele=../secret", headers=html),
        browser.post("/administration/boites/test", headers=html, data={"slug": "inconnue"}),
        browser.post("/administration/envois/renvoyer", headers=html, data={"outbox_id": "x"}),
    ):
        assert response.status_code == 404, response.url
        assert "Page non trouvée" in response.text
