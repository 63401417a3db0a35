"""The inbox: only the cases one may see, filters and search swapped in by htmx with a
shareable URL, keyset pages, bulk assignment."""

import re
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import Engine
from sqlmodel import Session

from backend.config import Settings
from backend.models import Case, CaseChannel, CaseKind, CaseStatus, Service
from tests.fixtures.mailboxes import citizen_mail
from tests.fixtures.web import (
    Browsing,
    assert_accessible,
    citizen_case,
    committed_service,
    screenshot,
    web_user,
)


def add_cases(
    engine: Engine, service: Service, count: int, *, status: CaseStatus = CaseStatus.NEW
) -> list[Case]:
    """Cases of the service inserted directly, due one day apart from 2027-01-04."""
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        cases = [
            Case(
                reference=f"INBOX-2026-{number:06d}",
                subject=f"Demande numéro {number}",
                kind=CaseKind.INFORMATION_REQUEST,
                status=status,
                channel=CaseChannel.PAPER,
                service_id=service.id,
                received_at=start + timedelta(hours=number),
                received_on=(start + timedelta(hours=number)).date(),
                due_date=date(2027, 1, 4) + timedelta(days=number),
                sender_name=f"Usager {number}",
            )
            for number in range(count)
        ]
        session.add_all(cases)
        session.commit()
        return cases


def test_an_agent_sees_their_services_cases_filters_and_searches(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    mine = committed_service(committed_engine, slug="sejour", name="Bureau du séjour")
    other = committed_service(committed_engine, slug="permis", name="Bureau des permis")
    agent = web_user(committed_engine, services=[mine])
    complaint = citizen_case(
        committed_engine,
        settings,
        service=mine,
        raw=citizen_mail(
            subject="Réclamation sur l'accueil",
            body="Je souhaite formuler plusieurs réclamations sur l'accueil au guichet.",
        ),
    )
    question = citizen_case(
        committed_engine,
        settings,
        service=mine,
        raw=citizen_mail(subject="Horaires", sender="Jean Dupont <jean.dupont@example.net>"),
    )
    hidden = citizen_case(committed_engine, settings, service=other)
    add_cases(committed_engine, mine, 2, status=CaseStatus.CLOSED)
    page = browsing.page
    browsing.sign_in(agent)

    expect(page.get_by_role("link", name=complaint.reference)).to_be_visible()
    expect(page.get_by_role("link", name=question.reference)).to_be_visible()
    expect(page.get_by_role("link", name=hidden.reference)).to_have_count(0)
    expect(page.get_by_role("link", name="INBOX-2026-000000")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("button", name="Filtres et tri").click()
    page.get_by_label("Statut").select_option(label="Clos")
    expect(page.get_by_role("link", name="INBOX-2026-000000")).to_be_visible()
    expect(page.get_by_role("link", name=complaint.reference)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/dossiers\?status=closed(&|$)"))
    assert_accessible(page)

    page.get_by_label("Statut").select_option(label="Tous les statuts")
    page.get_by_role("searchbox").fill("réclamation")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("link", name=question.reference)).to_have_count(0)
    expect(page.get_by_role("link", name=complaint.reference)).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=r%C3%A9clamation"))

    page.goto(page.url)  # the URL is shareable: it shows the same list
    expect(page.get_by_role("link", name=complaint.reference)).to_be_visible()
    expect(page.get_by_role("link", name=question.reference)).to_have_count(0)
    page.goto("/dossiers?q=jean.dupont%40example.net")
    expect(page.get_by_role("link", name=question.reference)).to_be_visible()
    expect(page.get_by_role("link", name=complaint.reference)).to_have_count(0)
    page.goto("/dossiers?q=introuvable")
    expect(page.get_by_text("Aucun dossier ne correspond.")).to_be_visible()


def test_next_cases_follow_a_cursor(browsing: Browsing, committed_engine: Engine) -> None:
    service = committed_service(committed_engine, slug="accueil", name="Accueil")
    agent = web_user(committed_engine, services=[service])
    add_cases(committed_engine, service, 60)
    page = browsing.page
    browsing.sign_in(agent)

    expect(page.get_by_role("link", name="INBOX-2026-000049")).to_be_visible()
    expect(page.get_by_role("link", name="INBOX-2026-000050")).to_have_count(0)
    expect(page.get_by_role("link", name="Première page")).to_have_count(0)
    page.get_by_role("link", name="Dossiers suivants").click()

    expect(page.get_by_role("link", name="INBOX-2026-000050")).to_be_visible()
    expect(page.get_by_role("link", name="INBOX-2026-000059")).to_be_visible()
    expect(page.get_by_role("link", name="INBOX-2026-000049")).to_have_count(0)
    expect(page.get_by_role("link", name="Dossiers suivants")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"cursor="))
    assert "OFFSET" not in page.url.upper()
    page.get_by_role("link", name="Première page").click()
    expect(page.get_by_role("link", name="INBOX-2026-000000")).to_be_visible()


def test_an_agent_takes_two_cases_at_once(browsing: Browsing, committed_engine: Engine) -> None:
    service = committed_service(committed_engine, slug="accueil", name="Accueil")
    agent = web_user(committed_engine, first_name="Léa", services=[service])
    add_cases(committed_engine, service, 3)
    page = browsing.page
    browsing.sign_in(agent)

    page.get_by_label("Sélectionner le dossier INBOX-2026-000000").check(force=True)
    page.get_by_label("Sélectionner le dossier INBOX-2026-000001").check(force=True)
    page.get_by_label("Agent (facultatif)").select_option(label=f"Léa {agent.last_name} (moi)")
    page.get_by_role("button", name="Attribuer les dossiers cochés").click()

    alert = page.get_by_role("status").filter(has_text="2 dossiers attribués")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("INBOX-2026-000000, INBOX-2026-000001")
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="INBOX-2026-000000")).to_contain_text(f"Léa {agent.last_name}")
    expect(rows.filter(has_text="INBOX-2026-000001")).to_contain_text("Attribué")
    expect(rows.filter(has_text="INBOX-2026-000002")).to_contain_text("Non attribué")
    assert_accessible(page)
    screenshot(page, name="dossiers")
