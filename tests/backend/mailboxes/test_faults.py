"""Crashes and outages never lose or duplicate a message: kill the poller, cut the database."""

import functools
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from backend.database import create_db_engine
from backend.migrations import upgrade_database
from backend.models import MailboxSyncState, Message
from tests.fixtures.database import empty_postgres_database
from tests.fixtures.environment import POSTGRES_ADMIN_URL, RUN_ID
from tests.fixtures.mailboxes import MailboxFactory, PolledMailbox, citizen_mail

MESSAGE_COUNT = 2000
KILLS = 5
LEASE_SECONDS = 3
BATCH_SIZE = 50
POLL_DEADLINE_SECONDS = 300


def _poller_environment(**overrides: str) -> dict[str, str]:
    """The test run's settings, with a short lease so a killed poller's expires quickly."""
    return {
        **os.environ,
        "QUALIPREF_POLL_LEASE_SECONDS": str(LEASE_SECONDS),
        "QUALIPREF_IMAP_BATCH_SIZE": str(BATCH_SIZE),
        "QUALIPREF_LOG_LEVEL": "WARNING",
        **overrides,
    }


def _start_poller(mailbox: PolledMailbox, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "backend.cli", "poll", "--once", "--mailbox", mailbox.slug]
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)


def _kill_at_random_points(
    mailbox: PolledMailbox,
    *,
    engine: Engine,
    environment: dict[str, str],
    kills: int,
    rng: random.Random,
) -> list[str]:
    """Start pollers and SIGKILL each at a random moment; what became of each one."""
    outcomes = []
    for _ in range(kills):
        poller = _start_poller(mailbox, environment)
        # Once 1 to 3 more batches are committed, somewhere in the next ones: fetch, parse,
        # store or commit.
        _wait_for_progress(
            mailbox, engine=engine, poller=poller, messages=BATCH_SIZE * rng.randint(1, 3)
        )
        time.sleep(rng.uniform(0.0, 0.05))
        killed = poller.poll() is None
        if killed:
            poller.kill()
        poller.wait()
        outcome = "killed" if killed else f"ended with code {poller.returncode}"
        outcomes.append(f"{outcome} at last UID {_last_uid(engine, mailbox)}")
        # Its worker processes die with it: alive, they would hold its database connection.
        assert _processes_polling(mailbox, patience_seconds=5) == []
        time.sleep(LEASE_SECONDS + 0.5)  # a killed poller cannot give its lease back
    return outcomes


def _wait_for_progress(
    mailbox: PolledMailbox, *, engine: Engine, poller: subprocess.Popen[bytes], messages: int
) -> None:
    """Until the poller has committed this many more messages (or ended)."""
    start = _last_uid(engine, mailbox)
    deadline = time.monotonic() + 60
    while poller.poll() is None and time.monotonic() < deadline:
        now = _last_uid(engine, mailbox)
        # A UIDVALIDITY change restarts the count from zero.
        if (now if now < start else now - start) >= messages:
            return
        time.sleep(0.01)


def _processes_polling(mailbox: PolledMailbox, *, patience_seconds: float) -> list[int]:
    """The processes still at work on this mailbox once patience runs out."""
    deadline = time.monotonic() + patience_seconds
    while True:
        alive = []
        for entry in Path("/proc").iterdir():
            try:
                command_line = (entry / "cmdline").read_bytes()
            except OSError:  # not a process, or it just ended
                continue
            if entry.name.isdigit() and mailbox.slug.encode() in command_line:
                alive.append(int(entry.name))
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@functools.cache
def _watching(engine: Engine) -> Engine:
    """An engine whose reads never queue for the poller's write lock.

    The application's SQLite transactions all begin IMMEDIATE, readers included: a watcher
    reading that way waits behind a poller that commits batch after batch, and sees its
    progress too late to kill it where it meant to. A plain deferred read in WAL mode does not
    wait.
    """
    return sa.create_engine(engine.url) if engine.dialect.name == "sqlite" else engine


def _last_uid(engine: Engine, mailbox: PolledMailbox) -> int:
    with Session(_watching(engine)) as session:
        state = session.exec(
            select(MailboxSyncState).where(MailboxSyncState.mailbox_id == mailbox.id)
        ).first()
        return state.last_uid if state else -1


def _poll_until_complete(mailbox: PolledMailbox, environment: dict[str, str]) -> None:
    deadline = time.monotonic() + POLL_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        poller = _start_poller(mailbox, environment)
        if poller.wait() == 0:
            return
        time.sleep(LEASE_SECONDS + 0.5)
    raise AssertionError("the mailbox was never polled to the end")


def _assert_logged_exactly_once(engine: Engine, mailbox: PolledMailbox) -> None:
    with Session(engine) as session:
        rows, distinct_ids = session.exec(
            select(func.count(), func.count(sa.distinct(col(Message.rfc_message_id)))).where(
                Message.mailbox_id == mailbox.id
            )
        ).one()
        state = session.exec(
            select(MailboxSyncState).where(MailboxSyncState.mailbox_id == mailbox.id)
        ).one()
    assert (rows, distinct_ids) == (MESSAGE_COUNT, MESSAGE_COUNT)
    assert state.last_uid == mailbox.highest_uid()


def _fill(mailbox: PolledMailbox) -> None:
    mailbox.append_many(
        [
            citizen_mail(subject=f"Demande n° {number}", body=f"Message {number}\n" * 20)
            for number in range(MESSAGE_COUNT)
        ]
    )


@pytest.mark.timeout(900)
def test_killing_the_poller_at_random_points_loses_and_duplicates_nothing(
    make_mailbox: MailboxFactory, engine: Engine
) -> None:
    mailbox = make_mailbox()
    _fill(mailbox)
    environment = _poller_environment()

    outcomes = _kill_at_random_points(
        mailbox, engine=engine, environment=environment, kills=KILLS, rng=random.Random(RUN_ID)
    )
    _poll_until_complete(mailbox, environment)

    assert all(outcome.startswith("killed") for outcome in outcomes), outcomes
    _assert_logged_exactly_once(engine, mailbox)


@pytest.mark.timeout(900)
def test_killing_the_poller_during_a_uidvalidity_rescan_duplicates_nothing(
    make_mailbox: MailboxFactory, engine: Engine
) -> None:
    mailbox = make_mailbox()
    _fill(mailbox)
    environment = _poller_environment()
    _poll_until_complete(mailbox, environment)

    mailbox.reset_uidvalidity()
    outcomes = _kill_at_random_points(
        mailbox, engine=engine, environment=environment, kills=2, rng=random.Random(RUN_ID)
    )
    _poll_until_complete(mailbox, environment)

    assert all(outcome.startswith("killed") for outcome in outcomes), outcomes
    _assert_logged_exactly_once(engine, mailbox)


@pytest.fixture
def own_postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database for this test alone: its connections get cut."""
    with empty_postgres_database(f"qualipref_faults_{RUN_ID}") as url:
        upgrade_database(database_url=url)
        yield url


def _cut_connections_repeatedly(*, database: str, stop: threading.Event, cuts: list[int]) -> None:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    rng = random.Random(RUN_ID)
    try:
        while not stop.wait(rng.uniform(0.3, 1.0)):
            with admin.connect() as connection:
                terminated = connection.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :database AND pid <> pg_backend_pid()"
                    ),
                    {"database": database},
                ).scalar_one()
            cuts.append(int(terminated))
    finally:
        admin.dispose()


@pytest.mark.timeout(900)
def test_cutting_the_database_connection_mid_batch_loses_and_duplicates_nothing(
    own_postgres_database: str, make_mailbox: MailboxFactory
) -> None:
    engine = create_db_engine(own_postgres_database)
    mailbox = make_mailbox(database=engine)
    _fill(mailbox)
    environment = _poller_environment(QUALIPREF_DATABASE_URL=own_postgres_database)
    stop, cuts = threading.Event(), list[int]()
    cutter = threading.Thread(
        target=_cut_connections_repeatedly,
        kwargs={"database": f"qualipref_faults_{RUN_ID}", "stop": stop, "cuts": cuts},
    )

    cutter.start()
    try:
        failed_runs = 0
        for _ in range(KILLS):
            poller = _start_poller(mailbox, environment)
            failed_runs += poller.wait() != 0
            time.sleep(LEASE_SECONDS + 0.5)
    finally:
        stop.set()
        cutter.join()
    _poll_until_complete(mailbox, environment)

    assert sum(cuts) > 0, "no connection was cut"
    assert failed_runs > 0, "no poll was interrupted by a cut"
    _assert_logged_exactly_once(engine, mailbox)
    engine.dispose()
