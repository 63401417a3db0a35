"""End-to-end ingestion throughput: Dovecot -> fetch, parse, store, thread, commit.

Run by hand (PostgreSQL on 127.0.0.1:5432 and Debian's dovecot-imapd needed):

    .venv/bin/python -m bench.ingest_throughput --messages 2000 --repeat 5

Fills one Dovecot mailbox, then, for each repeat, polls it once into an empty database and an
empty file store (both on disk, durable). Prints the raw IMAP fetch rate of the same mailbox,
each run's end-to-end rate with its median, and peak memory.
"""

import argparse
import os
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path

from backend.config import Settings
from backend.database import create_db_engine, session_scope
from backend.mailboxes.imap import ImapSettings, open_folder
from backend.mailboxes.polling import PollReport, poll_mailbox
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.migrations import upgrade_database
from backend.models import ImapTls
from bench.mail_generator import generate_mails
from tests.fixtures.database import empty_postgres_database, empty_sqlite_database
from tests.fixtures.dovecot import DovecotServer, ImapAccount

PASSWORD_ENV = "QUALIPREF_BENCH_IMAP_PASSWORD"
# Before a timed run the disks must have finished what came before (Dovecot's maildir, new
# databases, an earlier run's deletions: with ext4's online discard a journal commit pays
# for them): wait until no block device writes or discards for QUIET_SECONDS.
QUIET_SECONDS = 2.0
QUIET_WAIT_MAX_SECONDS = 120.0


def wait_for_quiet_disks() -> None:
    """Return once the block devices have written and discarded nothing for a while."""

    def activity() -> list[str]:
        # /proc/diskstats: sectors written (field 10) and discarded (field 17) per device.
        rows = [line.split() for line in Path("/proc/diskstats").read_text().splitlines()]
        return [" ".join(row[9:10] + row[16:17]) for row in rows]

    os.sync()
    deadline = time.monotonic() + QUIET_WAIT_MAX_SECONDS
    before = activity()
    while time.monotonic() < deadline:
        time.sleep(QUIET_SECONDS)
        now = activity()
        if now == before:
            return
        before = now
    print(f"disks still busy after {QUIET_WAIT_MAX_SECONDS:.0f} s: timing anyway")


def raw_fetch_rate(account: ImapAccount, *, batch_size: int) -> float:
    """Messages per second fetched with BODY.PEEK[] and nothing else done with them."""
    settings = ImapSettings(
        host=account.host,
        port=account.port,
        tls=ImapTls.NONE,
        username=account.username,
        password=account.password,
        folder="INBOX",
        timeout_seconds=60,
    )
    with open_folder(settings) as folder:
        started = time.perf_counter()
        uids = folder.uids_after(0)
        for start in range(0, len(uids), batch_size):
            folder.fetch(uids[start : start + batch_size])
        return len(uids) / (time.perf_counter() - started)


@contextmanager
def filled_mailbox(messages: int) -> Iterator[ImapAccount]:
    """A Dovecot account holding `messages` generated citizen e-mails."""
    server = DovecotServer.create()
    server.start()
    try:
        account = server.add_user()
        mails = generate_mails(messages)
        with account.connect() as client:
            for start in range(0, len(mails), 200):
                client.multiappend("INBOX", mails[start : start + 200])
        print(f"mailbox: {messages} messages, {sum(map(len, mails)) / 1e6:.1f} MB")
        yield account
    finally:
        server.remove()


def prepare_target(*, database_url: str, account: ImapAccount) -> int:
    """Migrate an empty database and register the mailbox in it; the mailbox id."""
    upgrade_database(database_url=database_url)
    engine = create_db_engine(database_url)
    with session_scope(engine) as session:
        mailbox = create_mailbox(
            session,
            mailbox_in=MailboxCreate(
                slug="sejour",
                address="pref-sejour-etrangers@gers.gouv.fr",
                imap_host=account.host,
                imap_port=account.port,
                imap_tls=ImapTls.NONE,
                imap_username=account.username,
                password_env=PASSWORD_ENV,
                start_date=date(2020, 1, 1),
            ),
        )
        mailbox_id = mailbox.id
    engine.dispose()
    assert mailbox_id is not None
    return mailbox_id


def timed_poll(*, database_url: str, data_dir: Path, mailbox_id: int, batch_size: int) -> float:
    """Poll the mailbox once; the messages logged per second."""
    settings = Settings(database_url=database_url, data_dir=data_dir, imap_batch_size=batch_size)
    engine = create_db_engine(database_url)
    started = time.perf_counter()
    report: PollReport = poll_mailbox(mailbox_id=mailbox_id, settings=settings, engine=engine)
    elapsed = time.perf_counter() - started
    engine.dispose()
    rate = report.new_messages / elapsed
    print(
        f"end to end: {report.new_messages} logged in {elapsed:.2f} s = {rate:.0f} messages/s "
        f"({report.new_cases} cases, {report.duplicates} duplicates, error: {report.error})"
    )
    return rate


def run(*, messages: int, database: str, repeat: int, batch_size: int) -> None:
    """Fill a mailbox, then ingest it `repeat` times into fresh targets; deletions come last."""
    with ExitStack() as cleanup, filled_mailbox(messages) as account:
        os.environ[PASSWORD_ENV] = account.password
        targets = []
        for _ in range(repeat):
            data_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(dir="/var/tmp")))
            database_url = cleanup.enter_context(
                empty_postgres_database(f"qualipref_bench_{uuid.uuid4().hex[:8]}")
                if database == "postgresql"
                else empty_sqlite_database(data_dir / "db")
            )
            mailbox_id = prepare_target(database_url=database_url, account=account)
            targets.append((database_url, data_dir, mailbox_id))
        wait_for_quiet_disks()
        print(f"raw IMAP fetch: {raw_fetch_rate(account, batch_size=batch_size):.0f} messages/s")
        rates = []
        for url, data_dir, mailbox_id in targets:
            wait_for_quiet_disks()
            rates.append(
                timed_poll(
                    database_url=url,
                    data_dir=data_dir,
                    mailbox_id=mailbox_id,
                    batch_size=batch_size,
                )
            )
        print(f"median: {statistics.median(rates):.0f} messages/s over {repeat} runs")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory (RSS): poller {peak_mb:.0f} MB, largest worker {children_mb:.0f} MB")


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=200)
    arguments = parser.parse_args()
    # The acknowledgements each new case queues go to a throw-away broker (the embedded SQLite
    # one), as they would on a laptop, not to a developer's ./var.
    with tempfile.TemporaryDirectory(prefix="qualipref-bench-broker-") as broker_dir:
        os.environ["QUALIPREF_DATA_DIR"] = broker_dir
        _run(arguments)


def _run(arguments: argparse.Namespace) -> None:
    run(
        messages=arguments.messages,
        database=arguments.database,
        repeat=arguments.repeat,
        batch_size=arguments.batch_size,
    )


if __name__ == "__main__":
    main()
