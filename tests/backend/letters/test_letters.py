"""Sending standard letters on a case: what the citizen gets, what the case records."""

import email
import email.policy
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from backend.cli.main import app
from backend.config import Settings
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import SHIPPED_TEMPLATES_DIR, TemplateRenderError
from backend.letters.service import prepare_letter, send_letter
from backend.letters.templates import LetterChannel, LetterTemplateError
from backend.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Letter,
    Mailbox,
    OutboxEmail,
    OutboxPurpose,
    Service,
    WaitingPeriod,
)
from backend.storage.filestore import FileStore
from tests.fixtures.mailboxes import citizen_mail, ingest
from tests.fixtures.users import Agent, join_service, make_agent

runner = CliRunner()
DOCUMENTS = ["Passeport en cours de validité", "Justificatif de domicile de moins de trois mois"]
ASKED = {"documents": DOCUMENTS, "deadline_days": 15}


@pytest.fixture
def case(session: Session, contact_mailbox: Mailbox, settings: Settings) -> Case:
    """A citizen's e-mail, logged as a new case."""
    raw = citizen_mail(subject="Renouvellement de mon titre de séjour")
    ingest(session, contact_mailbox, settings, raw, arrived=datetime.now(UTC) - timedelta(days=2))
    return session.exec(select(Case)).one()


def outgoing(session: Session, settings: Settings, *, outbox_id: int) -> EmailMessage:
    """The e-mail as queued, from its stored bytes."""
    row = session.get(OutboxEmail, outbox_id)
    assert row is not None
    assert row.raw_sha256 is not None
    raw = FileStore(settings.file_store_dir).read_bytes(row.raw_sha256)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def letters_queued(session: Session) -> list[OutboxEmail]:
    """The e-mails queued but the case's automatic acknowledgement."""
    return list(
        session.exec(
            select(OutboxEmail).where(col(OutboxEmail.purpose) != OutboxPurpose.ACKNOWLEDGEMENT)
        ).all()
    )


def test_the_missing_documents_letter_waits_until_the_citizen_answers(
    session: Session, case: Case, contact_mailbox: Mailbox, agent: Agent, settings: Settings
) -> None:
    before = datetime.now(UTC)
    letter = send_letter(
        session,
        case=case,
        template_name="demande-pieces",
        values=ASKED,
        channel=LetterChannel.EMAIL,
        actor=agent.user,
        settings=settings,
    )
    after = datetime.now(UTC)

    assert case.status is CaseStatus.WAITING_CITIZEN
    (wait,) = session.exec(select(WaitingPeriod).where(col(WaitingPeriod.case_id) == case.id))
    assert before <= wait.started_at <= after
    assert wait.started_on == settings.local_date(wait.started_at)
    assert letter.outbox_email_id is not None
    sent = outgoing(session, settings, outbox_id=letter.outbox_email_id)
    (attachment,) = sent.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{case.reference}-demande-pieces.pdf"
    text = sent.get_body(("plain",))
    assert isinstance(text, EmailMessage)
    assert DOCUMENTS[0] in text.get_content()

    answered_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    reply = citizen_mail(subject="Re: pièces demandées", in_reply_to=str(sent["Message-ID"]))
    ingest(session, contact_mailbox, settings, reply, arrived=answered_at)

    session.refresh(wait)
    refreshed = session.get(Case, case.id, populate_existing=True)
    assert refreshed is not None
    assert wait.ended_at == answered_at
    assert wait.ended_on == settings.local_date(answered_at)
    assert refreshed.status is CaseStatus.IN_PROGRESS
    assert case.answered_at is None  # asking for documents is not an answer
    actions = session.exec(
        select(AuditEvent.action).where(col(AuditEvent.case_id) == case.id)
    ).all()
    assert {"case.letter", "case.documents_requested", "case.documents_received"} <= set(actions)


def test_a_posted_reply_answers_the_case_on_the_day_it_was_posted(
    session: Session, case: Case, agent: Agent, settings: Settings
) -> None:
    posted_on = settings.today() - timedelta(days=1)

    letter = send_letter(
        session,
        case=case,
        template_name="reponse-libre",
        values={"message": "Votre titre de séjour est disponible en préfecture."},
        channel=LetterChannel.POST,
        actor=agent.user,
        settings=settings,
        posted_on=posted_on,
    )

    assert case.status is CaseStatus.ANSWERED
    assert case.answered_on == posted_on
    assert letter.sent_at == case.answered_at
    assert letter.pdf_sha256 is not None
    pdf = FileStore(settings.file_store_dir).read_bytes(letter.pdf_sha256)
    assert pdf.startswith(b"%PDF")
    assert len(letter.template_version) == 64


@pytest.mark.parametrize(
    ("template", "values", "message"),
    [
        ("demande-pieces", {"deadline_days": 15}, "« documents »"),
        ("demande-pieces", {**ASKED, "deadline_days": "quinze"}, "« deadline_days »"),
        ("demande-pieces", {**ASKED, "couleur": "bleu"}, "« couleur »"),
        ("lettre-inconnue", {}, "« lettre-inconnue » n'existe pas"),
    ],
)
def test_a_wrong_request_names_the_culprit_and_sends_nothing(
    session: Session,
    case: Case,
    agent: Agent,
    settings: Settings,
    template: str,
    values: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(LetterTemplateError, match=message):
        send_letter(
            session,
            case=case,
            template_name=template,
            values=values,
            channel=LetterChannel.EMAIL,
            actor=agent.user,
            settings=settings,
        )

    assert session.exec(select(Letter)).all() == []
    assert letters_queued(session) == []
    assert case.status is CaseStatus.NEW


def test_an_override_with_a_syntax_error_names_its_file_and_sends_nothing(
    session: Session, case: Case, agent: Agent, settings: Settings, tmp_path: Path
) -> None:
    override = tmp_path / "demande-pieces"
    shutil.copytree(SHIPPED_TEMPLATES_DIR / "demande-pieces", override)
    (override / "letter.html.j2").write_text("{% extends '_layout/letter.html.j2' %}{% block x %}")
    customised = settings.model_copy(update={"letter_templates_override_dir": tmp_path})

    with pytest.raises(TemplateRenderError, match=re.escape("demande-pieces/letter.html.j2")):
        send_letter(
            session,
            case=case,
            template_name="demande-pieces",
            values=ASKED,
            channel=LetterChannel.EMAIL,
            actor=agent.user,
            settings=customised,
        )

    assert session.exec(select(Letter)).all() == []
    assert letters_queued(session) == []


def test_the_api_lists_previews_prints_sends_and_downloads(
    agent_client: TestClient, case: Case
) -> None:
    listed = agent_client.get("/api/v1/letter-templates").json()
    request = {"template": "demande-pieces", "values": ASKED}

    preview = agent_client.post(f"/api/v1/cases/{case.id}/letters/preview", json=request)
    printed = agent_client.post(f"/api/v1/cases/{case.id}/letters/pdf", json=request)
    sent = agent_client.post(
        f"/api/v1/cases/{case.id}/letters",
        json={**request, "channel": "email"},
        headers={"If-Match": f'"{case.version}"'},
    )
    broken = agent_client.post(
        f"/api/v1/cases/{case.id}/letters/preview",
        json={"template": "demande-pieces", "values": {}},
    )

    pieces = next(item for item in listed if item["name"] == "demande-pieces")
    documents = next(v for v in pieces["variables"] if v["name"] == "documents")
    assert documents["type"] == "list"
    assert documents["options"], "the catalogue of usual documents is offered"
    assert preview.status_code == 200
    assert DOCUMENTS[1] in preview.text
    assert printed.headers["content-type"] == "application/pdf"
    assert printed.content.startswith(b"%PDF")
    assert sent.status_code == 201, sent.text
    downloaded = agent_client.get(f"/api/v1/cases/{case.id}/letters/{sent.json()['id']}/pdf")
    assert downloaded.content.startswith(b"%PDF")
    assert broken.status_code == 422
    assert "« documents »" in broken.json()["detail"]


def test_the_cli_lists_the_letters_and_prints_one_for_a_case(
    committed_engine: Engine, tmp_path: Path
) -> None:
    with Session(committed_engine) as session:
        agent = make_agent(session, first_name="Julie")
        case = Case(
            reference="GERS-2026-000042",
            subject="Renouvellement",
            sender_name="Camille Martin",
            sender_postal_address="12 rue Gambetta\n32000 Auch",
            received_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
            received_on=date(2026, 11, 2),
            assignee_id=agent.user.id,
        )
        session.add(case)
        session.commit()
    out = tmp_path / "lettre.pdf"

    listed = runner.invoke(app, ["letter", "list"])
    rendered = runner.invoke(
        app,
        [
            "letter",
            "render",
            "demande-pieces",
            "--case",
            "GERS-2026-000042",
            "--set",
            f"documents={DOCUMENTS[0]}",
            "--set",
            f"documents={DOCUMENTS[1]}",
            "--out",
            str(out),
        ],
    )
    unknown = runner.invoke(
        app, ["letter", "render", "demande-pieces", "--case", "GERS-1", "--out", str(out)]
    )

    assert listed.exit_code == 0, listed.output
    assert "demande-pieces — " in listed.stdout
    assert "documents (list)" in listed.stdout
    assert rendered.exit_code == 0, rendered.output
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert DOCUMENTS[1] in " ".join(text.split())
    assert "Julie Dupont" in text
    assert unknown.exit_code == 2
    assert "aucun dossier GERS-1" in unknown.output


def test_a_slot_is_given_to_one_letter_only_and_a_preview_gives_none(
    agent_client: TestClient,
    agent: Agent,
    session: Session,
    contact_mailbox: Mailbox,
    service_row: Service,
    settings: Settings,
) -> None:
    join_service(session, user=agent.user, service=service_row)
    first_slot = datetime.now(settings.tzinfo).replace(microsecond=0) + timedelta(days=7)
    opened = agent_client.post(
        "/api/v1/appointment-slots",
        json={
            "service_id": service_row.id,
            "place": "Guichet du séjour des étrangers, Auch",
            "starts_at": [first_slot.isoformat(), (first_slot + timedelta(hours=1)).isoformat()],
        },
    )
    cases = []
    for number in range(3):
        raw = citizen_mail(subject=f"Demande de titre de séjour {number}")
        ingest(session, contact_mailbox, settings, raw, arrived=datetime.now(UTC))
    for case in session.exec(select(Case).order_by(col(Case.id))).all():
        case.service_id = service_row.id
        session.add(case)
        cases.append(case)
    session.flush()
    letter = {
        "template": "accuse-reception-demande-sejour",
        "values": {"documents_to_bring": DOCUMENTS},
        "take_next_slot": True,
        "channel": "post",
    }

    def send(case: Case) -> Response:
        response: Response = agent_client.post(
            f"/api/v1/cases/{case.id}/letters",
            json=letter,
            headers={"If-Match": f'"{case.version}"'},
        )
        return response

    preview = agent_client.post(f"/api/v1/cases/{cases[0].id}/letters/preview", json=letter)
    sent = [send(case) for case in cases]

    assert opened.status_code == 201, opened.text
    assert preview.status_code == 200, preview.text
    assert [response.status_code for response in sent] == [201, 201, 409]
    assert "Aucun créneau de rendez-vous libre" in sent[2].json()["detail"]
    given = agent_client.get(
        "/api/v1/appointment-slots", params={"service_id": service_row.id, "free": False}
    ).json()
    assert [slot["case_id"] for slot in given] == [cases[0].id, cases[1].id]
    hour = f"{first_slot.hour} h {first_slot.minute:02d}"
    pdf = FileStore(settings.file_store_dir).read_bytes(
        session.exec(select(Letter).where(col(Letter.case_id) == cases[0].id)).one().pdf_sha256
        or ""
    )
    assert pdf.startswith(b"%PDF")
    assert hour in preview.text


def test_the_prefectures_logo_is_printed_above_the_brand_block(
    session: Session, case: Case, agent: Agent, settings: Settings, tmp_path: Path
) -> None:
    logo = tmp_path / "marianne.png"
    Image.new("RGB", (120, 60), "navy").save(logo)
    identity = settings.prefecture.model_copy(update={"logo_path": logo})
    with_logo = settings.model_copy(update={"prefecture": identity})
    pdfs = tmp_path / "lettre.pdf"

    prepared = prepare_letter(
        session,
        case=case,
        template_name="reponse-libre",
        values={"message": "Bonjour."},
        actor=agent.user,
        settings=with_logo,
    )
    pdfs.write_bytes(letter_pdf(prepared.rendered.document))

    images = subprocess.run(
        ["pdfimages", "-list", str(pdfs)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    assert len(images) == 1
    assert images[0].split()[3:5] == ["120", "60"]


def test_a_request_the_database_cannot_take_gets_a_422_not_a_500(
    agent_client: TestClient, case: Case, service_row: Service, settings: Settings
) -> None:
    """Cases found by fuzzing the API (tests/test_api_fuzzing.py), each once a 500."""
    starts_at = (datetime.now(settings.tzinfo) + timedelta(days=7)).isoformat()

    nul_value = agent_client.post(
        f"/api/v1/cases/{case.id}/letters",
        json={
            "template": "demande-pieces",
            "values": {**ASKED, "documents": ["Pass\u0000"]},
            "channel": "post",
        },
        headers={"If-Match": f'"{case.version}"'},
    )
    nul_place = agent_client.post(
        "/api/v1/appointment-slots",
        json={"service_id": service_row.id, "place": "Guichet\u0000", "starts_at": [starts_at]},
    )
    huge_service = agent_client.get("/api/v1/appointment-slots", params={"service_id": 2**63})
    huge_letter = agent_client.get(f"/api/v1/cases/{case.id}/letters/{2**63}/pdf")
    slots = [
        agent_client.post(
            "/api/v1/appointment-slots",
            json={"service_id": service_row.id, "place": "Guichet", "starts_at": [moment]},
        )
        for moment in ("2026-12-01T10:00:00", "0001-01-01T00:00:00+01:00")
    ]

    for refused, message in [
        (nul_value, "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."),
        (nul_place, "Caractère nul (U+0000) refusé : il ne peut pas être enregistré."),
        (huge_service, "Doit être inférieur ou égal à 2147483647."),
        (huge_letter, "Doit être inférieur ou égal à 2147483647."),
        (slots[0], "Fuseau horaire attendu dans la date et l'heure (+01:00, Z…)."),
        (slots[1], "Doit être supérieur ou égal à 1900-01-01T00:00:00Z."),
    ]:
        assert refused.status_code == 422
        assert [error["msg"] for error in refused.json()["detail"]] == [message]
