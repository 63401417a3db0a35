"""Acceptance: a citizen's HTML e-mail carrying the usual XSS vectors runs nothing in the
agent's browser, whether the sanitiser, the sandboxed frame or the policies stop it."""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from playwright.sync_api import Dialog, expect
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.models import Message
from backend.web.case_page import MESSAGE_FRAME_HEADERS
from tests.fixtures.web import Browsing, agent_with_case

FLAG = "qpXss"
SET_FLAG = f"window.top.{FLAG}=1;window.{FLAG}=1;alert(1)"
VECTORS = "\n".join(
    (
        f"<script>{SET_FLAG}</script>",
        f'<img src="x" onerror="{SET_FLAG}">',
        f'<a id="piege" href="javascript:{SET_FLAG}">Consulter mon dossier</a>',
        f"<svg><script>{SET_FLAG}</script></svg>",
        f'<svg onload="{SET_FLAG}"></svg>',
        f'<iframe src="javascript:{SET_FLAG}"></iframe>',
        '<div style="width: expression(alert(1))">expression</div>',
        '<div style="background-image: url(javascript:alert(1))">url</div>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        '<object data="javascript:alert(1)"></object>',
        '<embed src="javascript:alert(1)">',
        '<form action="javascript:alert(1)"><button>Envoyer le formulaire</button></form>',
        '<base href="javascript:alert(1)//">',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">Pièce</a>',
        '<iframe src="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
        '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
    )
)
HTML = (
    "<html><head><title>Mon dossier</title>"
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)"></head>'
    f'<body onload="{SET_FLAG}"><p>Bonjour, voici ma demande.</p>{VECTORS}</body></html>'
)
# What must not survive the sanitiser, in any case.
FORBIDDEN = (
    "<script",
    "onerror",
    "onload",
    "javascript:",
    "expression(",
    "<iframe",
    "<meta",
    "<object",
    "<embed",
    "<form",
    "<base",
    "<svg",
    "data:text/html",
    "alert(",
)
EVIL_SUBJECT = "<img src=x onerror=alert(1)>"
EVIL_NAME = "<script>alert(2)</script>"


def evil_mail() -> bytes:
    """An HTML-only e-mail whose markup, subject and sender name try to run scripts."""
    message = EmailMessage()
    message["From"] = f'"{EVIL_NAME}" <pirate@example.org>'
    message["To"] = "prefecture@gers.gouv.fr"
    message["Subject"] = EVIL_SUBJECT
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(HTML, subtype="html")
    return message.as_bytes(policy=SMTP)


def test_a_hostile_html_email_runs_nothing_in_the_agents_browser(
    browsing: Browsing, committed_engine: Engine, settings: Settings
) -> None:
    _service, agent, case = agent_with_case(committed_engine, settings, raw=evil_mail())
    with Session(committed_engine) as session:
        message = session.exec(select(Message).where(col(Message.case_id) == case.id)).one()
    assert message.body_html
    stored = message.body_html.lower()
    assert [vector for vector in FORBIDDEN if vector in stored] == []
    assert "bonjour, voici ma demande." in stored

    page = browsing.page
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    browsing.sign_in(agent)
    # The inbox shows the subject as text, not as markup.
    expect(page.get_by_role("link", name=case.reference)).to_be_visible()
    expect(page.get_by_role("cell", name=EVIL_SUBJECT)).to_be_visible()

    page.get_by_role("link", name=case.reference).click()
    page.wait_for_url(f"**/dossiers/{case.id}")
    case_url = page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(EVIL_SUBJECT)
    expect(page.locator(".qp-meta").first).to_contain_text(EVIL_NAME)
    page.get_by_role("button", name="Voir la mise en forme d'origine").click()
    frame_element = page.locator("iframe.qp-message-frame")
    assert frame_element.get_attribute("sandbox") == ""
    frame = page.frame_locator("iframe.qp-message-frame")
    expect(frame.get_by_text("Bonjour, voici ma demande.")).to_be_visible()
    trap = frame.get_by_text("Consulter mon dossier")
    if trap.count():
        trap.click()
    page.wait_for_timeout(1500)

    assert dialogs == []
    assert page.url == case_url
    assert page.locator("img[onerror], script:not([src])").count() == 0
    assert page.evaluate(f"typeof window.{FLAG}") == "undefined"
    for frame_in_page in page.frames:
        assert frame_in_page.evaluate(f"typeof window.{FLAG}") == "undefined"
    assert len(page.frames) == 2  # the page and its one message frame: no nested frame

    # The frame's policy refuses what the sanitiser kept (the <img src="x">, loaded from
    # nowhere): those refusals are the only errors the pages may log.
    browsing.errors_expected = True
    assert [e for e in browsing.console_errors if "Content Security Policy" not in e] == []

    frame_response = page.request.get(f"/dossiers/{case.id}/messages/{message.id}/html")
    assert frame_response.status == 200
    for header, value in MESSAGE_FRAME_HEADERS.items():
        assert frame_response.headers[header.lower()] == value
