"""An agent's day end to end, in Chromium, on real servers: a citizen's e-mail appended to a
Dovecot mailbox reaches the inbox; the agent takes the case, prints the missing-documents letter
and replies (the reply reaches the SMTP server, the case is answered); a paper letter is
registered; the quality dashboard counts both; an agent of another service sees none of it."""

import re

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session

from backend.config import Settings
from backend.mailboxes.polling import poll_mailbox
from backend.models import Case, CaseStatus, UserRole
from backend.outbox.delivery import deliver_emails, due_email_ids
from tests.fixtures.mailboxes import MailboxFactory, citizen_mail
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.web import Browsing, assert_accessible, committed_service, web_user

SUBJECT = "Renouvellement de ma carte nationale d'identité"
CITIZEN = "louise.ferrand@example.org"


def test_an_agent_s_day_from_the_mailbox_to_the_quality_dashboard(
    browsing: Browsing,
    committed_engine: Engine,
    settings: Settings,
    make_mailbox: MailboxFactory,
    smtp_server: SmtpServer,
) -> None:
    accueil = committed_service(committed_engine, slug="accueil", name="Accueil et courrier")
    sejour = committed_service(committed_engine, slug="sejour", name="Bureau du séjour")
    agent = web_user(committed_engine, first_name="Sophie", services=[accueil])
    other_agent = web_user(committed_engine, first_name="Marc", services=[sejour])
    manager = web_user(
        committed_engine, first_name="Isabelle", role=UserRole.QUALITY_MANAGER, services=[accueil]
    )
    mailbox = make_mailbox(service_id=accueil.id, auto_reply=False)
    page = browsing.page

    # The citizen writes; the poller logs the message into a new case.
    mailbox.append(
        citizen_mail(
            subject=SUBJECT,
            sender=f"Louise Ferrand <{CITIZEN}>",
            body="Bonjour,\nma carte expire le mois prochain : quelles pièces fournir ?\nMerci",
        )
    )
    report = poll_mailbox(mailbox_id=mailbox.id, settings=settings, engine=committed_engine)
    assert (report.new_messages, report.new_cases, report.error) == (1, 1, None)

    # The agent finds it in the inbox and opens it.
    browsing.sign_in(agent)
    case_link = page.get_by_role("row").filter(has_text=SUBJECT).get_by_role("link").first
    reference = case_link.inner_text()
    case_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(SUBJECT)
    case_url = page.url

    page.get_by_role("button", name="M'attribuer le dossier").click()
    expect(page.locator("#annonces")).to_contain_text("L'attribution du dossier est enregistrée")

    # The missing-documents letter, printed as PDF.
    page.get_by_role("tab", name="Par lettre type").click()
    page.get_by_label("Modèle de lettre").select_option("demande-pieces")
    documents = page.get_by_role("group", name="Pièces manquantes")
    documents.get_by_text(settings.missing_documents_catalogue[0], exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le PDF").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")

    # The reply by e-mail, delivered by the outbox to the SMTP server.
    page.goto(case_url)
    page.get_by_role("tab", name="Par courriel").click()
    page.get_by_label("Votre réponse").fill(
        "Madame,\n\nmunissez-vous de votre ancienne carte et d'une photo d'identité récente."
    )
    page.get_by_role("button", name="Envoyer la réponse par courriel").click()
    expect(page.get_by_role("status").filter(has_text="Réponse envoyée")).to_be_visible()
    relay = settings.model_copy(update={"smtp_url": smtp_server.url})
    while due := due_email_ids(settings=relay, engine=committed_engine):
        deliver_emails(outbox_ids=due, settings=relay, engine=committed_engine)
    (sent,) = smtp_server.wait_for(1)
    assert sent.recipients == [CITIZEN]
    assert reference.encode() in sent.data
    with Session(committed_engine) as session:
        case = session.get(Case, int(case_url.rsplit("/", 1)[1]))
        assert case is not None
        assert case.status is CaseStatus.ANSWERED
        assert case.answered_at is not None
    page.goto(case_url)
    expect(page.locator(".qp-status").first).to_have_text("Répondu")

    # A paper letter, registered by the same agent.
    page.get_by_role("link", name="Enregistrer un courrier").click()
    page.get_by_label("Nom et prénom de l’expéditeur").fill("M. André Lafitte")
    page.get_by_label("Adresse postale").fill("12 rue Dessoles\n32000 Auch")
    page.get_by_label("Objet").fill("Demande de duplicata de permis de conduire")
    page.get_by_role("button", name="Enregistrer le courrier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Courrier enregistré")
    sign_out(page)

    # The quality manager sees both in this month's figures.
    browsing.sign_in(manager)
    page.goto("/qualite")
    volumes = page.get_by_role("table", name=re.compile("^Volumes par mois"))
    assert last_cell(volumes.get_by_role("row").filter(has_text="Dossiers reçus")) == "2"
    assert last_cell(volumes.get_by_role("row").filter(has_text="Dossiers répondus")) == "1"
    sign_out(page)

    # An agent of the séjour service neither lists nor opens the case.
    browsing.sign_in(other_agent)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossiers")
    expect(page.get_by_text(reference)).to_have_count(0)
    expect(page.get_by_text(SUBJECT)).to_have_count(0)
    response = page.goto(case_url)
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page non trouvée")
    assert_accessible(page)
    browsing.errors_expected = True  # Chromium logs the 404 of the last page


def sign_out(page: Page) -> None:
    """Sign out from the header."""
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/connexion")


def last_cell(row: Locator) -> str:
    """The text of a table row's last cell: the month in progress."""
    return row.get_by_role("cell").last.inner_text().split("\n")[0].strip()
