"""End-to-end ingestion throughput: Dovecot -> fetch, parse, store, thread, commit.

Run by hand (PostgreSQL on 127.0.0.1:5432 and Debian's dovecot-imapd needed):

    .venv/bin/python -m bench.ingest_throughput --messages 2000 --database postgresql

Prints the raw IMAP fetch rate of the same mailbox, the end-to-end rate and peak memory.
"""

import argparse
import os
import resource
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from backend.config import Settings
from backend.database import create_db_engine, session_scope
from backend.mailboxes.imap import ImapSettings, open_folder
from backend.mailboxes.polling import poll_mailbox
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.migrations import upgrade_database
from backend.models import ImapTls
from bench.mail_generator import generate_mails
from tests.fixtures.database import empty_postgres_database, empty_sqlite_database
from tests.fixtures.dovecot import DovecotServer, ImapAccount

PASSWORD_ENV = "QUALIPREF_BENCH_IMAP_PASSWORD"


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


def run(*, messages: int, database_url: str, data_dir: Path, batch_size: int) -> None:
    """Fill a mailbox, measure the raw fetch rate, then ingest it end to end."""
    server = DovecotServer.create()
    server.start()
    try:
        account = server.add_user()
        mails = generate_mails(messages)
        with account.connect() as client:
            for start in range(0, len(mails), 200):
                client.multiappend("INBOX", mails[start : start + 200])
        megabytes = sum(map(len, mails)) / 1e6
        print(f"mailbox: {messages} messages, {megabytes:.1f} MB")
        print(f"raw IMAP fetch: {raw_fetch_rate(account, batch_size=batch_size):.0f} messages/s")
        ingest(account=account, database_url=database_url, data_dir=data_dir, batch_size=batch_size)
    finally:
        server.remove()


def ingest(*, account: ImapAccount, database_url: str, data_dir: Path, batch_size: int) -> None:
    """Poll the mailbox once into an empty database and report the rate."""
    upgrade_database(database_url=database_url)
    settings = Settings(database_url=database_url, data_dir=data_dir, imap_batch_size=batch_size)
    engine = create_db_engine(database_url)
    os.environ[PASSWORD_ENV] = account.password
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
    assert mailbox_id is not None
    started = time.perf_counter()
    report = poll_mailbox(mailbox_id=mailbox_id, settings=settings, engine=engine)
    elapsed = time.perf_counter() - started
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"end to end: {report.new_messages} logged in {elapsed:.2f} s = "
        f"{report.new_messages / elapsed:.0f} messages/s ({report.new_cases} cases, "
        f"error: {report.error})"
    )
    print(f"peak memory (RSS): {peak_mb:.0f} MB")


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--batch-size", type=int, default=200)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qualipref-bench-") as data_dir:
        if arguments.database == "postgresql":
            database = empty_postgres_database(f"qualipref_bench_{uuid.uuid4().hex[:8]}")
        else:
            database = empty_sqlite_database(Path(data_dir) / "db")
        with database as database_url:
            run(
                messages=arguments.messages,
                database_url=database_url,
                data_dir=Path(data_dir),
                batch_size=arguments.batch_size,
            )


if __name__ == "__main__":
    main()
