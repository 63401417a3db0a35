"""A citizen's right of access and erasure: everything about one address, then nothing."""

import io
import json
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.models import AuditEvent, Case, Mailbox, Message
from backend.privacy.service import ANONYMISED_SUBJECT
from tests.fixtures.mailboxes import citizen_mail, ingest
from tests.fixtures.users import Agent, make_agent

CITIZEN = "camille.martin@example.org"


def test_an_administrator_exports_everything_held_about_an_address(
    session: Session, client: TestClient, admin: Agent, contact_mailbox: Mailbox, settings: Settings
) -> None:
    _two_cases_and_a_stranger(session, contact_mailbox, settings)

    exported = client.get(f"/api/v1/citizens/export?email={CITIZEN.upper()}", headers=admin.headers)

    assert exported.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    data = json.loads(archive.read("donnees.json"))
    assert [case["subject"] for case in data["dossiers"]] == ["Première demande", "Relance"]
    first, second = data["dossiers"]
    assert first["messages"][0]["body_text"].startswith("Bonjour, voici mon passeport")
    attachment = first["messages"][0]["pieces_jointes"][0]
    assert archive.read(attachment["fichier"]) == b"%PDF-1.4 passeport"
    assert archive.read(second["messages"][0]["fichier"]).startswith(b"From: ")
    assert "autre@example.org" not in json.dumps(data)
    event = _last_event(session)
    assert (event.action, event.actor_user_id) == ("citizen.exported", admin.user.id)
    assert event.details["cases"] == [case["reference"] for case in data["dossiers"]]


def test_erasing_an_address_anonymises_its_cases_only(
    session: Session, client: TestClient, admin: Agent, contact_mailbox: Mailbox, settings: Settings
) -> None:
    _two_cases_and_a_stranger(session, contact_mailbox, settings)

    erased = client.post("/api/v1/citizens/erase", json={"email": CITIZEN}, headers=admin.headers)

    assert erased.status_code == 200
    assert len(erased.json()["references"]) == 2
    cases = session.exec(select(Case).order_by(col(Case.id))).all()
    assert [case.subject for case in cases] == [ANONYMISED_SUBJECT, ANONYMISED_SUBJECT, "Autre"]
    assert [case.sender_email for case in cases] == [None, None, "autre@example.org"]
    bodies = session.exec(select(Message.body_text).order_by(col(Message.id))).all()
    assert bodies[:2] == ["", ""]
    assert _last_event(session).action == "citizen.erased"
    again = client.get(f"/api/v1/citizens/export?email={CITIZEN}", headers=admin.headers)
    assert CITIZEN not in zipfile.ZipFile(io.BytesIO(again.content)).read("donnees.json").decode()


def test_agents_may_not_export_or_erase(session: Session, client: TestClient) -> None:
    agent = make_agent(session)

    exported = client.get(f"/api/v1/citizens/export?email={CITIZEN}", headers=agent.headers)
    erased = client.post("/api/v1/citizens/erase", json={"email": CITIZEN}, headers=agent.headers)

    assert (exported.status_code, erased.status_code) == (403, 403)


def _two_cases_and_a_stranger(session: Session, mailbox: Mailbox, settings: Settings) -> None:
    now = datetime.now(UTC)
    ingest(session, mailbox, settings, _with_passport(), arrived=now)
    reminder = citizen_mail(subject="Relance", sender=f"Camille Martin <{CITIZEN}>")
    ingest(session, mailbox, settings, reminder, arrived=now)
    other = citizen_mail(subject="Autre", sender="Dominique <autre@example.org>")
    ingest(session, mailbox, settings, other, arrived=now)


def _with_passport() -> bytes:
    message = EmailMessage()
    message["From"] = f"Camille Martin <{CITIZEN}>"
    message["To"] = "prefecture@gers.gouv.fr"
    message["Subject"] = "Première demande"
    message["Message-ID"] = make_msgid(domain="example.org")
    message["Date"] = format_datetime(datetime.now(UTC))
    message.set_content("Bonjour, voici mon passeport.")
    message.add_attachment(
        b"%PDF-1.4 passeport", maintype="application", subtype="pdf", filename="passeport.pdf"
    )
    return message.as_bytes(policy=SMTP)


def _last_event(session: Session) -> AuditEvent:
    return session.exec(
        select(AuditEvent).order_by(col(AuditEvent.id).desc())
    ).first() or AuditEvent(action="none")
