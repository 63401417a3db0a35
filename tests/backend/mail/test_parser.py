"""The parser on small hand-written French messages: one behaviour per test."""

import base64
import hashlib
import struct
import time
from datetime import UTC, datetime

import pytest

from backend.mail.html import MAX_HTML_CHARS, MAX_NESTING, html_to_text
from backend.mail.parser import MessageParseError, ParsedAddress, parse_message

HEADERS = (
    b"From: =?utf-8?q?Am=C3=A9lie_Durand?= <amelie.durand@Example.FR>\r\n"
    b"To: Pr\xc3\xa9fecture du Gers <contact@gers.gouv.fr>, sejour@gers.gouv.fr\r\n"
    b"Date: Mon, 02 Mar 2026 10:15:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
)


def message(
    *, headers: bytes = HEADERS, extra: bytes = b"", body: bytes = b"Bonjour.\r\n"
) -> bytes:
    """A small message: common headers, extra headers, then the body (with its own headers)."""
    return (
        headers + extra + body if body.startswith(b"Content-") else headers + extra + b"\r\n" + body
    )


def test_a_plain_message() -> None:
    """Addresses, date in UTC, subject, body."""
    parsed = parse_message(
        message(extra=b"Subject: Rendez-vous\r\nContent-Type: text/plain; charset=utf-8\r\n")
    )
    assert parsed.sender == ParsedAddress(name="Amélie Durand", address="amelie.durand@example.fr")
    assert parsed.to == (
        ParsedAddress(name="Préfecture du Gers", address="contact@gers.gouv.fr"),
        ParsedAddress(name=None, address="sejour@gers.gouv.fr"),
    )
    assert parsed.date == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert parsed.subject == "Rendez-vous"
    assert parsed.body_text == "Bonjour."
    assert parsed.body_html is None
    assert parsed.attachments == ()
    assert parsed.automation_markers == ()
    assert parsed.defects == ()


def test_without_a_from_address_the_sender_is_the_reply_to() -> None:
    """A From that names nobody (spam tools write "name" <>) leaves Reply-To, with a defect."""
    headers = HEADERS.replace(
        b"From: =?utf-8?q?Am=C3=A9lie_Durand?= <amelie.durand@Example.FR>",
        b'From: "Am\xc3\xa9lie" <>\r\nReply-To: <amelie.durand@example.fr>',
    )
    parsed = parse_message(message(headers=headers))
    assert parsed.sender == ParsedAddress(name=None, address="amelie.durand@example.fr")
    assert "no From address: the sender is taken from Reply-To" in parsed.defects


@pytest.mark.parametrize(
    "subject",
    [
        b"=?UTF-8?Q?Demande_de_titre_de_s=C3=A9jour?=",
        b"=?utf-8?B?RGVtYW5kZSBkZSB0aXRyZSBkZSBzw6lqb3Vy?=",
        b"=?ISO-8859-1?Q?Demande_de_titre_de_s=E9jour?=",
        b"Demande de titre\r\n =?iso-8859-15?q?de_s=E9jour?=",
        b"=?utf-8?Q?Demande_de_titre_de_s=C3?=\r\n =?utf-8?Q?=A9jour?=",
    ],
    ids=["q", "b", "latin-1", "folded", "split-character"],
)
def test_rfc_2047_subjects_are_decoded(subject: bytes) -> None:
    """Encoded-words, folded, even with a character split across two words."""
    parsed = parse_message(message(extra=b"Subject: " + subject + b"\r\n"))
    assert parsed.subject == "Demande de titre de séjour"
    assert ("Subject", "Demande de titre de séjour") in parsed.headers


def test_an_unknown_charset_falls_back_without_losing_text() -> None:
    """x-unknown and iso-gb2312 decode, with a defect each."""
    parsed = parse_message(
        message(
            extra=b"Subject: =?iso-gb2312?B?1tDOxA==?= =?x-unknown?Q?s=C3=A9jour?=\r\n"
            b"Content-Type: text/plain; charset=x-unknown\r\n",
            body="Récépissé de demande".encode("latin-1"),
        )
    )
    assert parsed.subject == "中文séjour"
    assert parsed.body_text == "Récépissé de demande"
    assert any("iso-gb2312" in defect for defect in parsed.defects)
    assert any("unknown charset x-unknown" in defect for defect in parsed.defects)


def test_undeclared_8bit_headers_are_guessed() -> None:
    """Raw UTF-8 is fine (RFC 6532); raw Latin-1 decodes as Windows-1252 with a defect."""
    utf8 = parse_message(message(extra="Subject: Titre de séjour\r\n".encode()))
    latin1 = parse_message(message(extra="Subject: Titre de séjour\r\n".encode("latin-1")))
    assert utf8.subject == latin1.subject == "Titre de séjour"
    assert utf8.defects == ()
    assert latin1.defects == ("undeclared 8-bit bytes in Subject decoded as windows-1252",)


def test_rfc_2231_file_names_are_decoded() -> None:
    """Percent-encoded, in sections, with a charset; RFC 2047 names too."""
    body = (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCi-joint mes pi\xc3\xa8ces.\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*0*=UTF-8''r%C3%A9c%C3%A9piss%C3%A9%20de;\r\n"
        b" filename*1*=%20s%C3%A9jour.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"%PDF-1.4") + b"\r\n"
        b'--b\r\nContent-Type: image/jpeg; name="=?utf-8?Q?photo_d\'identit=C3=A9.jpg?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"\xff\xd8") + b"\r\n"
        b"--b--\r\n"
    )
    parsed = parse_message(message(body=body))
    assert parsed.body_text == "Ci-joint mes pièces."
    pdf, photo = parsed.attachments
    assert (pdf.filename, pdf.content_type, pdf.content) == (
        "récépissé de séjour.pdf",
        "application/pdf",
        b"%PDF-1.4",
    )
    assert pdf.size == 8
    assert pdf.sha256 == hashlib.sha256(b"%PDF-1.4").hexdigest()
    assert not pdf.is_inline
    assert photo.filename == "photo d'identité.jpg"


def test_html_only_bodies_become_text() -> None:
    """Blocks and <br> make lines, entities are unescaped, the title opens the text, styles go."""
    html = (
        b"<html><head><title>Courriel</title><style>p{color:red}</style></head><body>"
        b"<p>Madame,&nbsp;Monsieur,</p><div>Je sollicite un <b>rendez-vous</b>.<br>Merci</div>"
        b"<ul><li>passeport</li><li>justificatif&#160;de domicile</li></ul></body></html>"
    )
    parsed = parse_message(message(extra=b"Content-Type: text/html; charset=utf-8\r\n", body=html))
    assert parsed.body_text == (
        "Courriel\n\nMadame, Monsieur,\n\nJe sollicite un rendez-vous.\nMerci\n\n"
        "passeport\njustificatif de domicile"
    )
    assert parsed.body_html is not None
    assert "<b>rendez-vous</b>" in parsed.body_html


def test_scripts_and_event_handlers_are_removed_from_html() -> None:
    """nh3 sanitises: no script, no on* attribute, no javascript: link."""
    html = (
        b'<p onclick="steal()">Bonjour</p><script>alert("x")</script>'
        b'<a href="javascript:alert(1)">lien</a><img src=x onerror="alert(2)">'
    )
    parsed = parse_message(message(extra=b"Content-Type: text/html\r\n", body=html))
    assert parsed.body_html is not None
    for forbidden in ("script", "alert", "onclick", "onerror", "javascript"):
        assert forbidden not in parsed.body_html
    assert parsed.body_text == "Bonjour\n\nlien"


def test_alternative_prefers_plain_text_and_keeps_the_html() -> None:
    """body_text from text/plain, body_html from text/html."""
    body = (
        b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTexte brut\r\n"
        b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Texte <i>riche</i></p>\r\n"
        b"--alt--\r\n"
    )
    parsed = parse_message(message(body=body))
    assert parsed.body_text == "Texte brut"
    assert parsed.body_html == "<p>Texte <i>riche</i></p>"


def test_inline_text_parts_of_a_mixed_message_are_joined() -> None:
    """Several inline text parts make one body; an image between them is an attachment."""
    body = (
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain\r\n\r\nPremier paragraphe.\r\n"
        b"--m\r\nContent-Type: image/png\r\nContent-ID: <img1>\r\n\r\nPNG\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nSecond paragraphe.\r\n"
        b"--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nNotes\r\n"
        b"--m--\r\n"
    )
    parsed = parse_message(message(body=body))
    assert parsed.body_text == "Premier paragraphe.\n\nSecond paragraphe."
    image, notes = parsed.attachments
    assert (image.content_type, image.content_id, image.is_inline) == ("image/png", "img1", True)
    assert (notes.content, notes.is_inline) == (b"Notes", False)


def test_a_single_part_pdf_is_an_attachment() -> None:
    """No body, one attachment."""
    parsed = parse_message(
        message(
            extra=b"Content-Type: application/pdf; name=scan.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n",
            body=base64.b64encode(b"%PDF-1.7 scan") + b"\r\n",
        )
    )
    assert parsed.body_text == ""
    assert [(a.filename, a.content) for a in parsed.attachments] == [("scan.pdf", b"%PDF-1.7 scan")]


def test_a_missing_message_id_is_synthesised_deterministically() -> None:
    """From the fingerprint: the same message re-delivered gets the same one."""
    raw = message(extra=b"Subject: Sans identifiant\r\n")
    redelivered = b"Received: from mx.example.org by mx.gers.gouv.fr; Tue, 3 Mar 2026\r\n" + raw
    first, again = parse_message(raw), parse_message(redelivered)
    other = parse_message(raw.replace(b"Bonjour.", b"Bonsoir."))
    assert first.message_id_synthesised
    assert first.message_id == f"{first.fingerprint[:32]}@qualipref.invalid"
    assert again.message_id == first.message_id
    assert other.message_id != first.message_id


def test_the_fingerprint_ignores_trace_fields_and_line_endings() -> None:
    """Return-Path, Received, ARC-*, X-Spam-* and CRLF do not change it; the content does."""
    raw = message(extra=b"Message-ID: <abc@example.fr>\r\n")
    traced = (
        b"Return-Path: <amelie.durand@example.fr>\r\nDelivered-To: contact@gers.gouv.fr\r\n"
        b"Received: from a\r\n by b; Mon, 2 Mar 2026\r\nARC-Seal: i=1; cv=none\r\n"
        b"X-Spam-Score: 0.1\r\nAuthentication-Results: mx; spf=pass\r\n" + raw
    )
    mbox = b"From amelie.durand@example.fr Mon Mar  2 10:15:00 2026\n" + raw.replace(b"\r\n", b"\n")
    fingerprints = {parse_message(data).fingerprint for data in (raw, traced, mbox)}
    assert len(fingerprints) == 1
    assert parse_message(raw + b"P.S.\r\n").fingerprint not in fingerprints


def test_an_mbox_separator_line_is_ignored() -> None:
    """The "From " line is no header."""
    parsed = parse_message(b"From MAILER-DAEMON Mon Mar  2 10:15:00 2026\n" + message())
    assert parsed.sender is not None
    assert parsed.sender.address == "amelie.durand@example.fr"
    assert parsed.headers[0][0] == "From"


def test_references_and_in_reply_to() -> None:
    """IDs without brackets, order kept, invalid ones skipped, In-Reply-To appended."""
    parsed = parse_message(
        message(
            extra=b"Message-ID: <reponse-2@example.fr>\r\n"
            b"In-Reply-To: <envoi-1@gers.gouv.fr> (message du 1er mars)\r\n"
            b"References: <GERS-2026-000123@gers.gouv.fr>\r\n"
            b" <ceci n'est pas un id> <accuse-0@gers.gouv.fr>\r\n"
        )
    )
    assert parsed.message_id == "reponse-2@example.fr"
    assert not parsed.message_id_synthesised
    assert parsed.in_reply_to == "envoi-1@gers.gouv.fr"
    assert parsed.references == (
        "GERS-2026-000123@gers.gouv.fr",
        "accuse-0@gers.gouv.fr",
        "envoi-1@gers.gouv.fr",
    )


@pytest.mark.parametrize(
    ("extra", "marker"),
    [
        (b"Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-replied"),
        (b"Precedence: bulk\r\n", "Precedence: bulk"),
        (b"List-Id: <annonces.example.fr>\r\n", "List-Id"),
        (b"List-Unsubscribe: <mailto:stop@example.fr>\r\n", "List-Unsubscribe"),
        (b"X-Autoreply: yes\r\n", "X-Autoreply"),
        (b"X-Autorespond: Absent\r\n", "X-Autorespond"),
        (b"X-Auto-Response-Suppress: DR, OOF\r\n", "X-Auto-Response-Suppress: DR, OOF"),
        (b"Return-Path: <>\r\n", "Return-Path: <>"),
        (b'Content-Type: multipart/report; boundary="r"\r\n', "multipart/report"),
    ],
)
def test_automation_markers(extra: bytes, marker: str) -> None:
    """Each machine-sent sign of DOMAIN.md is reported."""
    assert marker in parse_message(message(extra=extra)).automation_markers


@pytest.mark.parametrize(
    "sender", [b"MAILER-DAEMON@mx.example.fr", b"postmaster@example.fr", b"no-reply@ants.gouv.fr"]
)
def test_automatic_senders_are_markers(sender: bytes) -> None:
    """MAILER-DAEMON, postmaster, noreply."""
    headers = b"From: " + sender + b"\r\nTo: contact@gers.gouv.fr\r\n"
    local = sender.split(b"@")[0].decode()
    assert parse_message(message(headers=headers)).automation_markers == (f"sender: {local}",)


def test_a_web_form_from_noreply_with_a_citizen_reply_to_is_a_person() -> None:
    """The contact form of the préfecture's website sends from noreply, on the citizen's behalf."""
    headers = (
        b"From: Formulaire de contact <no-reply@gers.gouv.fr>\r\n"
        b"Reply-To: Amelie Durand <amelie.durand@example.fr>\r\nTo: contact@gers.gouv.fr\r\n"
    )
    parsed = parse_message(message(headers=headers))
    assert parsed.automation_markers == ()
    assert parsed.reply_address == ParsedAddress(
        name="Amelie Durand", address="amelie.durand@example.fr"
    )


def test_auto_submitted_no_is_a_human() -> None:
    """Auto-Submitted: no is what a person's client may send."""
    assert parse_message(message(extra=b"Auto-Submitted: no\r\n")).automation_markers == ()


def _tnef_object(level: int, *, name: int, kind: int, data: bytes) -> bytes:
    """One TNEF attribute with its checksum."""
    checksum = struct.pack("<H", sum(data) & 0xFFFF)
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + checksum


def _tnef(files: list[tuple[str, bytes]]) -> bytes:
    """A winmail.dat carrying files, as Outlook writes them."""
    stream = struct.pack("<IH", 0x223E9F78, 1)
    stream += _tnef_object(1, name=0x9006, kind=0x0008, data=struct.pack("<I", 0x00010000))
    stream += _tnef_object(1, name=0x9007, kind=0x0006, data=struct.pack("<II", 1252, 0))
    for name, content in files:
        stream += _tnef_object(2, name=0x9002, kind=0x0006, data=b"\x01\x00" + b"\xff" * 12)
        stream += _tnef_object(2, name=0x8010, kind=0x0001, data=name.encode("cp1252") + b"\x00")
        stream += _tnef_object(2, name=0x800F, kind=0x0006, data=content)
    return stream


def _with_winmail(data: bytes) -> bytes:
    """A message whose attachment is winmail.dat."""
    return message(
        body=b'Content-Type: multipart/mixed; boundary="t"\r\n\r\n'
        b"--t\r\nContent-Type: text/plain\r\n\r\nVoir pi\xe8ces jointes.\r\n"
        b'--t\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data) + b"--t--\r\n"
    )


def test_winmail_dat_is_unpacked_in_place() -> None:
    """The files of a TNEF attachment replace it, in order."""
    receipt = "reçu".encode()
    parsed = parse_message(
        _with_winmail(_tnef([("récépissé.txt", receipt), ("scan.pdf", b"%PDF")]))
    )
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("récépissé.txt", "text/plain", receipt),
        ("scan.pdf", "application/pdf", b"%PDF"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"not a TNEF stream at all",
        struct.pack("<IH", 0x223E9F78, 1)
        + _tnef_object(1, name=0x9004, kind=6, data=b"\xff\xff\xff\xff"),
    ],
    ids=["garbage", "crafted-count"],
)
def test_a_broken_winmail_dat_is_kept_with_a_defect(data: bytes) -> None:
    """Nothing lost, and a crafted count does not hang the parser."""
    parsed = parse_message(_with_winmail(data))
    assert [(a.filename, a.content) for a in parsed.attachments] == [("winmail.dat", data)]
    assert any(defect.startswith("winmail.dat not unpacked") for defect in parsed.defects)


def test_a_nested_message_is_one_attachment_with_its_raw_bytes() -> None:
    """message/rfc822 is kept whole, named after its subject."""
    nested = (
        b"From: agent@gers.gouv.fr\r\nSubject: =?utf-8?q?R=C3=A9ponse_=C3=A0_votre_demande?=\r\n"
        b"Content-Type: text/plain\r\n\r\nCorps du message transf\xc3\xa9r\xc3\xa9.\r\n"
    )
    body = (
        b'Content-Type: multipart/mixed; boundary="n"\r\n\r\n'
        b"--n\r\nContent-Type: text/plain\r\n\r\nJe vous transf\xc3\xa8re ce courriel.\r\n"
        b"--n\r\nContent-Type: message/rfc822\r\n\r\n" + nested + b"\r\n--n--\r\n"
    )
    parsed = parse_message(message(body=body))
    assert parsed.body_text == "Je vous transfère ce courriel."
    (attachment,) = parsed.attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.filename == "Réponse à votre demande.eml"
    assert attachment.content == nested


def test_bad_transfer_encodings_and_uuencode() -> None:
    """An unknown encoding is read as 8bit with a defect; x-uuencode is decoded."""
    body = (
        b'Content-Type: multipart/mixed; boundary="u"\r\n\r\n'
        b"--u\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7-bit\r\n"
        b"\r\nD\xc3\xa9j\xc3\xa0 envoy\xc3\xa9.\r\n"
        b"--u\r\nContent-Type: application/octet-stream; name=note.txt\r\n"
        b"Content-Transfer-Encoding: x-uuencode\r\n\r\n"
        b"begin 644 note.txt\r\n'8F]N:F]U<@``\r\n`\r\nend\r\n"
        b"--u--\r\n"
    )
    parsed = parse_message(message(body=body))
    assert parsed.body_text == "Déjà envoyé."
    assert parsed.attachments[0].content == b"bonjour"
    assert any("'7-bit'" in defect for defect in parsed.defects)


def test_utf16_bodies() -> None:
    """A declared UTF-16 charset, with or without a byte order mark."""
    for encoded in ("Préfecture".encode("utf-16"), "Préfecture".encode("utf-16-be")):
        raw = message(
            extra=b"Content-Type: text/plain; charset=utf-16\r\n"
            b"Content-Transfer-Encoding: base64\r\n",
            body=base64.b64encode(encoded) + b"\r\n",
        )
        assert parse_message(raw).body_text == "Préfecture"


def test_malformed_structure_parses_with_defects() -> None:
    """A multipart without its closing boundary keeps its parts."""
    body = b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n\r\nSans fin\r\n'
    parsed = parse_message(message(body=body))
    assert parsed.body_text == "Sans fin"
    assert "multipart without closing boundary" in parsed.defects


def test_header_lines_without_leading_whitespace_are_continuations() -> None:
    """A gateway that strips folding whitespace does not lose From and Subject."""
    raw = b"X-Tracker: abc\r\ndef\r\n" + message(extra=b"Subject: Suite\r\n")
    parsed = parse_message(raw)
    assert parsed.subject == "Suite"
    assert parsed.sender is not None
    assert "1 header lines without a colon read as continuations" in parsed.defects


def test_oversized_html_is_truncated_with_a_defect() -> None:
    """The sanitiser never sees more than its limit."""
    html = b"<p>" + b"a" * (MAX_HTML_CHARS + 10) + b"</p>"
    parsed = parse_message(message(extra=b"Content-Type: text/html\r\n", body=html))
    assert parsed.body_html is not None
    assert len(parsed.body_html) <= MAX_HTML_CHARS + 10
    assert any("truncated" in defect for defect in parsed.defects)


def test_deeply_nested_html_is_replaced_by_its_text() -> None:
    """Nesting that would make the sanitiser quadratic is not sanitised but flattened."""
    depth = MAX_NESTING * 20
    head = b"<head><title>Objet</title><style>p{color:red}</style></head>"
    html = head + b"<div>" * depth + b"Texte <script>x()</script>profond" + b"</div>" * depth
    parsed = parse_message(message(extra=b"Content-Type: text/html\r\n", body=html))
    assert parsed.body_text == "Objet\n\nTexte profond"
    assert parsed.body_html == "<pre>Objet\n\nTexte profond</pre>"


@pytest.mark.parametrize("html", ["<a " * 200_000, "<!--" * 200_000, "</" * 200_000])
def test_html_to_text_is_linear_on_unclosed_markup(html: str) -> None:
    """Markup that makes naive parsers quadratic takes well under a second."""
    started = time.perf_counter()
    html_to_text(html)
    assert time.perf_counter() - started < 5


def test_empty_input_is_not_a_message() -> None:
    """The only input that raises."""
    for raw in (b"", b"\r\n\r\n", b"From someone Mon Mar  2 10:15:00 2026\n"):
        with pytest.raises(MessageParseError):
            parse_message(raw)


def test_an_unparsable_date_is_none_with_a_defect() -> None:
    """An impossible time is no date."""
    headers = HEADERS.replace(b"10:15:00", b"29:24:05")
    parsed = parse_message(message(headers=headers))
    assert parsed.date is None
    assert "unparsable Date 'Mon, 02 Mar 2026 29:24:05 +0100'" in parsed.defects


def test_nul_characters_are_removed() -> None:
    """Databases refuse them in text."""
    parsed = parse_message(message(extra=b"Subject: a\x00b\r\n", body=b"c\x00d\r\n"))
    assert (parsed.subject, parsed.body_text) == ("ab", "cd")


def test_deeply_nested_multiparts_stop_at_a_depth_limit() -> None:
    """Thousands of nested multiparts neither recurse without bound nor take long."""
    depth = 2_000
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth)))
    raw = HEADERS + opening + b"Content-Type: text/plain\r\n\r\nau fond" + closing
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 5
    assert any("nested deeper than" in defect for defect in parsed.defects)
