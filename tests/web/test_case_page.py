"""The case page: an agent reads the thread, the timeline and the delays, and works the case."""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.cases.replies import reply_by_email
from backend.config import Settings
from backend.models import AuditEvent, Case, CaseKind, CaseStatus, Message, Service, UserRole
from backend.web.case_page import MESSAGE_FRAME_HEADERS, STALE_MESSAGE
from backend.web.templating import local_date
from tests.fixtures.users import Agent, join_service, make_agent
from tests.fixtures.web import (
    Browsing,
    agent_with_case,
    assert_accessible,
    citizen_case,
    committed,
    committed_service,
    mail_case,
    screenshot,
    web_user,
)

TEXT = "Bonjour,\nmon véhicule a été verbalisé à tort devant la préfecture.\nCordialement"
HTML = (
    "<html><body><p>Bonjour,</p><p>mon <strong>véhicule</strong> a été verbalisé à tort "
    "devant la préfecture.</p><p>Cordialement</p></body></html>"
)


def html_mail(*, subject: str = "Contestation d'une amende", html: str = HTML) -> bytes:
    """A citizen's e-mail with a text and an HTML version."""
    message = EmailMessage()
    message["From"] = "Camille Martin <camille.martin@example.org>"
    message["To"] = "prefecture@gers.gouv.fr"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(TEXT)
    message.add_alternative(html, subtype="html")
    return message.as_bytes(policy=SMTP)


def test_an_agent_works_a_case_from_its_page(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    service, agent, case = agent_with_case(committed_engine, settings, raw=html_mail())
    page = browsing.page
    browsing.sign_in(agent)

    page.get_by_role("link", name=case.reference).click()
    page.wait_for_url(f"**/dossiers/{case.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Contestation d'une amende")
    expect(page.locator(".qp-message-text")).to_contain_text("verbalisé à tort")
    expect(page.locator("#historique")).to_contain_text("Dossier ouvert à la réception")
    assert case.due_date is not None
    expect(page.locator("#echeance")).to_contain_text(local_date(case.due_date))
    expect(page.locator("#echeance")).to_contain_text("j restants")
    page.get_by_role("button", name="Voir la mise en forme d'origine").click()
    frame = page.frame_locator(".qp-message-frame")
    expect(frame.locator("strong")).to_have_text("véhicule")
    assert_accessible(page)

    page.get_by_label("Nature du dossier").select_option(CaseKind.COMPLAINT.value)
    # The answer tools reload after a change: they carry the case's new version.
    answer_tools = f"/dossiers/{case.id}/reponse"
    with page.expect_response(lambda response: response.url.endswith(answer_tools)):
        page.get_by_role("button", name="Classer le dossier").click()
    expect(page.locator("#annonces")).to_contain_text("La nature du dossier est enregistrée.")
    expect(page.locator("#nature-dossier")).to_contain_text("Réclamation")
    expect(page.locator("#historique")).to_contain_text("→ réclamation")

    page.get_by_role("button", name="M'attribuer le dossier").click()
    expect(page.locator("#agent-dossier")).to_have_text(f"{agent.first_name} {agent.last_name}")
    expect(page.locator("#statut-dossier")).to_have_text("Attribué")
    expect(page.locator("#historique")).to_contain_text("Statut : nouveau → attribué")

    page.get_by_label("Délai de traitement annoncé (en jours)").fill("30")
    page.get_by_role("button", name="Enregistrer la réponse d'attente").click()
    expect(page.locator("#reponse-attente-dossier")).to_contain_text("délai annoncé : 30 jours")
    expect(page.locator("#historique")).to_contain_text("Délai annoncé : 30 jours")

    page.get_by_role("button", name="Clore le dossier").click()
    expect(page.locator("#statut-dossier")).to_have_text("Clos")
    expect(page.locator("#historique")).to_contain_text("Dossier clos")
    expect(page.get_by_role("button", name="Clore le dossier")).to_have_count(0)

    page.get_by_role("button", name="Rouvrir le dossier").click()
    expect(page.locator("#statut-dossier")).to_have_text("En cours")
    expect(page.locator("#historique")).to_contain_text("Dossier rouvert")
    expect(page.locator("#annonces")).to_contain_text("Le dossier est rouvert.")
    assert_accessible(page)
    screenshot(page, name="dossier")

    with Session(committed_engine) as session:
        saved = session.get(Case, case.id)
        assert saved is not None
        assert saved.kind is CaseKind.COMPLAINT
        assert saved.assignee_id == agent.id
        assert saved.service_id == service.id
        assert saved.holding_reply_delay_days == 30
        assert saved.status is CaseStatus.IN_PROGRESS
        assert saved.closed_at is None
        actions = session.exec(
            select(AuditEvent.action)
            .where(col(AuditEvent.case_id) == case.id)
            .order_by(col(AuditEvent.id))
        ).all()
    assert [a for a in actions if a != "case.viewed"] == [
        "case.opened",
        "case.classified",
        "case.assigned",
        "case.holding_reply",
        "case.closed",
        "case.reopened",
    ]
    assert "case.viewed" in actions


def test_a_plain_form_works_without_javascript(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    _service, agent, case = agent_with_case(committed_engine, settings)
    page = browsing.page
    browsing.sign_in(agent)
    page.goto(f"/dossiers/{case.id}")
    # The forms as a browser without JavaScript posts them: no htmx attributes.
    page.evaluate(
        "document.querySelectorAll('[hx-post]').forEach(f => { f.removeAttribute('hx-post'); })"
    )
    page.evaluate("htmx.process(document.body)")

    page.get_by_role("button", name="Clore le dossier").click()
    page.wait_for_url(f"**/dossiers/{case.id}?fait=clore")
    expect(page.locator("#annonces")).to_contain_text("Le dossier est clos.")
    expect(page.locator("#statut-dossier")).to_have_text("Clos")


def test_a_change_on_a_stale_version_is_refused_in_french(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    _service, agent, case = agent_with_case(committed_engine, settings)
    page = browsing.page
    browsing.sign_in(agent)
    page.goto(f"/dossiers/{case.id}")

    def someone_else_changes_it(session: Session) -> None:
        row = session.get(Case, case.id)
        assert row is not None
        row.version += 1
        session.add(row)

    committed(committed_engine, someone_else_changes_it)
    page.get_by_label("Nature du dossier").select_option(CaseKind.SUGGESTION.value)
    page.get_by_role("button", name="Classer le dossier").click()

    expect(page.get_by_role("alert")).to_contain_text(STALE_MESSAGE)
    with Session(committed_engine) as session:
        saved = session.get(Case, case.id)
        assert saved is not None
        assert saved.kind is not CaseKind.SUGGESTION
    browsing.errors_expected = True  # the 409 answer is logged by Chromium


def test_an_agent_of_another_service_gets_the_not_found_page(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    sejour = committed_service(committed_engine, slug="sejour", name="Bureau du séjour")
    accueil = committed_service(committed_engine, slug="accueil", name="Accueil général")
    outsider = web_user(committed_engine, services=[accueil])
    case = citizen_case(committed_engine, settings, raw=html_mail(), service=sejour)
    with Session(committed_engine) as session:
        message = session.exec(select(Message).where(col(Message.case_id) == case.id)).one()
    page = browsing.page
    browsing.sign_in(outsider)

    for path in (f"/dossiers/{case.id}", f"/dossiers/{case.id}/messages/{message.id}/html"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Page non trouvée")
        expect(page.locator("body")).not_to_contain_text(case.subject)
    browsing.errors_expected = True  # the 404 answers are logged by Chromium


# --- Without a browser: the forms' answers, through a client in the test's transaction ---


@pytest.fixture
def working(session: Session, settings: Settings) -> tuple[Agent, Case]:
    """An agent of the service in charge of a citizen's case, in the test's transaction."""
    service = a_service(session, "accueil")
    agent = make_agent(session, services=[service])
    return agent, mail_case(session, settings, service=service, raw=html_mail())


def a_service(session: Session, slug: str) -> Service:
    service = Service(slug=slug, name=f"Service {slug}")
    session.add(service)
    session.flush()
    return service


def post(client: TestClient, agent: Agent, path: str, **fields: object) -> httpx.Response:
    """A form of the page, posted by htmx."""
    response: httpx.Response = client.post(
        path,
        data={key: str(value) for key, value in fields.items()},
        headers={**agent.headers, "HX-Request": "true", "Accept": "text/html"},
    )
    return response


def test_a_service_head_gives_the_case_to_an_agent_of_the_service(
    session: Session, client: TestClient, settings: Settings
) -> None:
    service = a_service(session, "accueil")
    head = make_agent(session, first_name="Hélène", role=UserRole.SERVICE_HEAD, services=[service])
    agent = make_agent(session, first_name="Yann", services=[service])
    case = mail_case(session, settings, service=service, raw=html_mail())

    page = client.get(f"/dossiers/{case.id}", headers=head.headers)
    assert page.status_code == 200
    assert 'id="attribution-agent"' in page.text
    assert "Yann Dupont" in page.text
    changed = post(
        client,
        head,
        f"/dossiers/{case.id}/attribuer",
        version=case.version,
        service_id=service.id,
        assignee_id=agent.user.id,
    )

    assert changed.status_code == 200
    assert changed.headers["HX-Trigger"] == "dossier-modifie"
    assert "L&#39;attribution du dossier est enregistrée." in changed.text
    assert 'hx-swap-oob="true"' in changed.text  # the timeline comes along
    assert case.assignee_id == agent.user.id
    assert case.status is CaseStatus.ASSIGNED


def test_refusals_are_french_alerts_never_a_server_error(
    session: Session, client: TestClient, settings: Settings
) -> None:
    service = a_service(session, "accueil")
    agent = make_agent(session, services=[service])
    colleague = make_agent(session, first_name="Yann", services=[service])
    case = mail_case(session, settings, service=service, raw=html_mail())
    base = f"/dossiers/{case.id}"

    attempts: dict[str, tuple[dict[str, object], int]] = {
        "attribuer": ({"service_id": service.id, "assignee_id": colleague.user.id}, 403),
        "pieces-recues": ({}, 409),
        "reponse-attente": ({"announced_delay_days": "dans un mois"}, 422),
        "classer": ({"kind": "inconnue"}, 422),
        "statut": ({"status": CaseStatus.CLOSED.value}, 409),
        "repondu-autrement": ({"channel": "email", "answered_on": "2026-01-01"}, 422),
        "note": ({"text": "   "}, 422),
    }
    for action, (fields, status_code) in attempts.items():
        answer = post(client, agent, f"{base}/{action}", version=case.version, **fields)
        assert answer.status_code == status_code, action
        assert 'class="fr-alert fr-alert--error' in answer.text, action
    no_version = post(client, agent, f"{base}/clore")
    assert no_version.status_code == 422
    assert "rechargez la page" in no_version.text
    assert case.status is CaseStatus.NEW
    assert case.version == 1


def test_a_plain_form_is_refused_with_the_whole_page(
    client: TestClient, working: tuple[Agent, Case]
) -> None:
    agent, case = working

    answer = client.post(
        f"/dossiers/{case.id}/clore",
        data={"version": "7"},
        headers={**agent.headers, "Accept": "text/html"},
    )

    assert answer.status_code == 409
    assert "<h1" in answer.text
    assert STALE_MESSAGE.replace("'", "&#39;") in answer.text


def test_the_html_of_a_message_is_served_only_for_its_own_case(
    session: Session, client: TestClient, settings: Settings
) -> None:
    service = a_service(session, "accueil")
    agent = make_agent(session, services=[service])
    case = mail_case(session, settings, service=service, raw=html_mail())
    other_service = a_service(session, "autre")
    other = mail_case(session, settings, service=other_service, raw=html_mail())
    join_service(session, user=agent.user, service=other_service)
    message = session.exec(select(Message).where(col(Message.case_id) == case.id)).one()

    shown = client.get(f"/dossiers/{case.id}/messages/{message.id}/html", headers=agent.headers)
    elsewhere = client.get(
        f"/dossiers/{other.id}/messages/{message.id}/html", headers=agent.headers
    )

    assert shown.status_code == 200
    assert "<strong>véhicule</strong>" in shown.text
    for header, value in MESSAGE_FRAME_HEADERS.items():
        assert shown.headers[header] == value
    assert elsewhere.status_code == 404


def test_the_thread_shows_the_replies_sent_with_their_text(
    session: Session,
    client: TestClient,
    settings: Settings,
    working: tuple[Agent, Case],
) -> None:
    agent, case = working
    reply_by_email(
        session,
        case=case,
        text="Votre demande est bien prise en compte.",
        canned_reply_id=None,
        variables={},
        actor=agent.user,
        settings=settings,
    )

    page = client.get(f"/dossiers/{case.id}", headers=agent.headers)

    assert page.status_code == 200
    assert "Votre demande est bien prise en compte." in page.text
    assert "Réponse apportée au demandeur" in page.text
    assert "En attente d&#39;envoi" in page.text or "Envoyé" in page.text
