"""The whole shared corpus, delivered to Dovecot and polled: every message logged, none lost."""

import hashlib

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from backend.config import Settings
from backend.mail.parser import parse_message
from backend.mailboxes.polling import poll_mailbox
from backend.models import Case, Message
from backend.storage.filestore import FileStore
from tests.backend.mail.test_corpus import EXPECTED_DIFFERENCES, differing_fields
from tests.fixtures.corpus import CorpusEntry, expected_values, mismatches, read_index
from tests.fixtures.mailboxes import MailboxFactory, PolledMailbox

# IMAP hands messages out with CRLF line ends, and Dovecot replaces the NUL bytes that IMAP
# forbids in a message: what the server holds is what is stored, byte for byte.
SERVER_REWRITES_NUL = {"stalwart-mail-parser/thirdparty/005.eml"}


def _served_bytes(mailbox: PolledMailbox) -> list[bytes]:
    """Every message of the mailbox as the server serves it, in UID order."""
    with mailbox.account.connect() as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        fetched = client.fetch(uids, ["BODY.PEEK[]"])
    return [fetched[uid][b"BODY[]"] for uid in uids]


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.timeout(600)
def test_every_corpus_message_is_logged_once_and_kept_byte_for_byte(
    make_mailbox: MailboxFactory, settings: Settings, engine: Engine
) -> None:
    entries = read_index()
    mailbox = make_mailbox()
    mailbox.append_many([entry.path.read_bytes() for entry in entries], chunk=50)
    served = _served_bytes(mailbox)

    report = poll_mailbox(mailbox_id=mailbox.id, settings=settings, engine=engine)

    # The same message twice (identical files, LF twins of CRLF files) is logged once.
    distinct = {(p.message_id, p.fingerprint) for p in map(parse_message, served)}
    assert report.error is None
    assert report.fetched == len(entries) == 402
    assert report.new_messages == len(distinct)
    assert report.new_messages + report.duplicates == 402
    store = FileStore(settings.file_store_dir)
    with Session(engine) as session:
        messages = session.exec(select(Message).where(Message.mailbox_id == mailbox.id)).all()
        for entry, raw in zip(entries, served, strict=True):
            original = entry.path.read_bytes()
            if entry.relative not in SERVER_REWRITES_NUL:
                assert raw in (original, _crlf(original)), entry.relative
            assert store.read_bytes(hashlib.sha256(raw).hexdigest()) == raw
        for message in messages:
            _assert_row_matches_its_raw(session, message=message, store=store)
    _assert_expectations_hold(entries=entries, served=served)


def _assert_row_matches_its_raw(session: Session, *, message: Message, store: FileStore) -> None:
    """What the row says is what parsing the stored raw bytes gives."""
    parsed = parse_message(store.read_bytes(message.raw_sha256 or ""))
    assert (message.subject, message.body_text) == (parsed.subject, parsed.body_text)
    assert message.from_address == (parsed.sender.address if parsed.sender else None)
    assert message.parse_error is None
    case = session.get(Case, message.case_id)
    assert case is not None


def _assert_expectations_hold(*, entries: list[CorpusEntry], served: list[bytes]) -> None:
    """From, Subject and body text as the corpus's sources expect, with the known differences."""
    checked = 0
    for entry, raw in zip(entries, served, strict=True):
        if entry.expected_file is None:
            continue
        expected = expected_values(entry.expected_file)
        if expected is None:
            continue
        found = mismatches(parse_message(raw), expected=expected)
        difference = EXPECTED_DIFFERENCES.get(entry.relative)
        allowed = difference.fields if difference else frozenset()
        assert differing_fields(found) <= allowed, (entry.relative, found)
        checked += 1
    assert checked == 159
