"""Preparing messages in worker processes gives what preparing them in the poller gives."""

from pathlib import Path

from backend.mail.incoming import RawIncoming
from backend.mail.parser import parse_message
from backend.mailboxes.pipeline import PARALLEL_MIN_MESSAGES, preparer
from backend.storage.filestore import FileStore
from tests.fixtures.mailboxes import citizen_mail


def test_worker_processes_prepare_batches_in_order_even_an_empty_one(tmp_path: Path) -> None:
    raws = [RawIncoming(raw=citizen_mail(subject=f"Demande n° {n}")) for n in range(5)]
    store = FileStore(tmp_path)

    with preparer(
        file_store=store, message_count=PARALLEL_MIN_MESSAGES, processes=2, parse=parse_message
    ) as prepare:
        # A batch comes back empty when its messages were expunged between SEARCH and FETCH.
        batches = [prepare(raws), prepare([])]
        prepared, empty = (batch.result() for batch in batches)

    assert [message.parsed.subject for message in prepared if message.parsed] == [
        f"Demande n° {n}" for n in range(5)
    ]
    assert all(store.exists(message.raw_sha256) for message in prepared)
    assert empty == []
