"""Acknowledgement latency: from a message's delivery to Dovecot to its acknowledgement at SMTP.

Run by hand (PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379, Debian's dovecot-imapd):

    .venv/bin/python -m bench.ack_latency --messages 100

The production path, end to end: the IDLE watcher logs the message and queues the
acknowledgement in the same transaction; after the commit a Celery worker (a separate
process, Redis broker) renders it, and hands it to an SMTP server (aiosmtpd). Messages are
delivered one at a time, a random pause between them, each from a different citizen.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis

from backend.config import Settings
from backend.database import create_db_engine
from backend.mailboxes.idle import IdleSupervisor
from bench.idle_latency import describe_latencies
from bench.ingest_throughput import PASSWORD_ENV, filled_mailbox, prepare_target
from tests.fixtures.database import empty_postgres_database
from tests.fixtures.dovecot import ImapAccount
from tests.fixtures.mailboxes import citizen_mail
from tests.fixtures.smtp import SmtpServer

REDIS_URL = "redis://127.0.0.1:6379/7"
PATIENCE_SECONDS = 30.0


def time_acknowledgements(
    *, account: ImapAccount, smtp: SmtpServer, count: int, rng: random.Random
) -> list[float]:
    """Deliver count messages one by one; the delay until each one's acknowledgement arrived."""
    delays = []
    already = len(smtp.messages)
    with account.connect() as client:
        for number in range(count):
            time.sleep(rng.uniform(0.0, 0.5))
            mail = citizen_mail(
                sender=f"citoyen{uuid.uuid4().hex[:12]}@example.org",
                subject=f"Demande de rendez-vous n° {number}",
            )
            delivered = time.perf_counter()
            client.append("INBOX", mail)
            smtp.wait_for(already + number + 1, timeout=PATIENCE_SECONDS)
            delays.append(time.perf_counter() - delivered)
    return delays


def start_worker(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """A Celery worker process, as production runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--loglevel=WARNING"],
        env=environment,
    )


def run(*, messages: int) -> None:
    """Watch an empty mailbox with IDLE and time each message's acknowledgement."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    smtp = SmtpServer()
    smtp.start()
    with (
        filled_mailbox(0) as account,
        tempfile.TemporaryDirectory(dir="/var/tmp") as data_dir,
        empty_postgres_database(f"qualipref_bench_{uuid.uuid4().hex[:8]}") as database_url,
    ):
        environment = {
            "QUALIPREF_DATABASE_URL": database_url,
            "QUALIPREF_DATA_DIR": data_dir,
            "QUALIPREF_BROKER_URL": REDIS_URL,
            "QUALIPREF_SMTP_URL": smtp.url,
            PASSWORD_ENV: account.password,
        }
        os.environ.update(environment)  # the watcher's after-commit hook reads the broker here
        prepare_target(database_url=database_url, account=account)
        worker = start_worker({**os.environ, **environment})
        settings = Settings(database_url=database_url, data_dir=Path(data_dir), smtp_url=smtp.url)
        engine = create_db_engine(database_url)
        stop = threading.Event()
        watching = threading.Thread(
            target=IdleSupervisor(settings=settings, engine=engine).run, kwargs={"stop": stop}
        )
        watching.start()
        try:
            rng = random.Random(7)
            # The first one waits for the worker to start; it is not counted.
            time_acknowledgements(account=account, smtp=smtp, count=1, rng=rng)
            delays = time_acknowledgements(account=account, smtp=smtp, count=messages, rng=rng)
        finally:
            stop.set()
            watching.join(timeout=30)
            worker.terminate()
            worker.wait(timeout=30)
            engine.dispose()
            smtp.stop()
    print(f"APPEND-to-acknowledgement over {messages} messages: {describe_latencies(delays)}")


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    run(messages=parser.parse_args().messages)


if __name__ == "__main__":
    main()
