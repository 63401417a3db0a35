"""IDLE latency: time from a message's delivery to Dovecot until it is logged in the database.

Run by hand (PostgreSQL on 127.0.0.1:5432 and Debian's dovecot-imapd needed):

    .venv/bin/python -m bench.idle_latency --messages 50

Starts the IDLE watcher on an empty mailbox, then delivers the messages one at a time (APPEND,
a random pause between them) and prints the p50, p95 and worst delay until each is committed.
"""

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from backend.config import Settings
from backend.database import create_db_engine
from backend.mailboxes.idle import IdleSupervisor
from backend.models import Message
from bench.ingest_throughput import PASSWORD_ENV, filled_mailbox, prepare_target
from bench.mail_generator import generate_mails
from tests.fixtures.database import empty_postgres_database
from tests.fixtures.dovecot import ImapAccount

POLL_INTERVAL_SECONDS = 0.01
PATIENCE_SECONDS = 30.0


def logged_count(engine: Engine) -> int:
    """Messages committed so far."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Message)).one()


def deliver_and_time(
    *, account: ImapAccount, engine: Engine, mails: list[bytes], rng: random.Random
) -> list[float]:
    """Deliver each mail and wait until it is logged; the delays in seconds."""
    delays = []
    with account.connect() as client:
        for index, mail in enumerate(mails, start=1):
            time.sleep(rng.uniform(0.0, 0.5))
            delivered = time.perf_counter()
            client.append("INBOX", mail)
            while logged_count(engine) < index:
                if time.perf_counter() - delivered > PATIENCE_SECONDS:
                    raise TimeoutError(f"message {index} not logged after {PATIENCE_SECONDS} s")
                time.sleep(POLL_INTERVAL_SECONDS)
            delays.append(time.perf_counter() - delivered)
    return delays


def run(*, messages: int) -> None:
    """Watch an empty mailbox with IDLE and time the delivery of each message."""
    with (
        filled_mailbox(0) as account,
        tempfile.TemporaryDirectory(dir="/var/tmp") as data_dir,
        empty_postgres_database(f"qualipref_bench_{uuid.uuid4().hex[:8]}") as database_url,
    ):
        os.environ[PASSWORD_ENV] = account.password
        prepare_target(database_url=database_url, account=account)
        settings = Settings(database_url=database_url, data_dir=Path(data_dir))
        engine = create_db_engine(database_url)
        stop = threading.Event()
        supervisor = IdleSupervisor(settings=settings, engine=engine)
        watching = threading.Thread(target=supervisor.run, kwargs={"stop": stop})
        watching.start()
        try:
            time.sleep(1.0)  # the watcher connects and enters IDLE
            delays = deliver_and_time(
                account=account, engine=engine, mails=generate_mails(messages), rng=random.Random(7)
            )
        finally:
            stop.set()
            watching.join(timeout=30)
            engine.dispose()
    print(f"IDLE delivery-to-commit over {messages} messages: {describe_latencies(delays)}")


def describe_latencies(delays: list[float]) -> str:
    """p50, p95 and worst of a set of delays."""
    ordered = sorted(delays)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18]
    return f"p50 {statistics.median(ordered):.3f} s, p95 {p95:.3f} s, max {ordered[-1]:.3f} s"


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    run(messages=parser.parse_args().messages)


if __name__ == "__main__":
    main()
