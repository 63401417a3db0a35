"""The inbox and case pages under load: 50 agents on 1,000,000 cases in PostgreSQL.

Run by hand (PostgreSQL on 127.0.0.1:5432), with nothing else busy on the machine:

    .venv/bin/python -m bench.web_pages --cases 1000000 --agents 50 --seconds 60

Fills an empty, migrated PostgreSQL database (or the one --database-url names, filled only if
empty, and kept for the next run) with three services, their mailboxes and generated cases,
each with the citizen's message (one INSERT … SELECT over generate_series per table): a case a
minute, the most recent 6,000 still awaiting an answer, the others answered or closed. Starts
`qualipref serve --workers W` on a free port and lets simulated agents work on it over
loopback: each agent belongs to one service and, in a loop, opens their inbox (the default
list, a filter, or a search) or a case of their service, waiting between clicks a random think
time (exponential, --think seconds on average). Prints, per page (case, inbox, inbox with a
search), the number of requests, the median, p95 and p99 latency and the throughput; then the
same with no think time (the server saturated), for its capacity. Counts every non-200 answer.
"""

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import col, select

from backend.database import create_db_engine, session_scope
from backend.mailboxes.schemas import MailboxCreate
from backend.mailboxes.service import create_mailbox
from backend.migrations import upgrade_database
from backend.models import MailboxKind, Service, ServiceMembership, User
from backend.users.tokens import create_token
from tests.fixtures.database import empty_postgres_database
from tests.fixtures.dovecot import free_port

SERVICES = (
    ("accueil", "Accueil général", "contact"),
    ("sejour", "Bureau du séjour", "sejour"),
    ("qualite", "Mission qualité", "qualite"),
)
OPEN_CASES = 6000
SEED = 7
FILL_CASES = """
INSERT INTO cases (reference, channel, kind, status, mailbox_id, service_id, subject,
                   sender_name, sender_email, received_at, received_on, registered_at,
                   answered_at, answered_on, closed_at, closed_on, due_date, needs_attention,
                   version, updated_at)
SELECT 'GERS-BENCH-' || lpad(g::text, 7, '0'), 'email',
       (ARRAY['information_request', 'complaint', 'residence', 'suggestion'])[1 + g % 4],
       CASE WHEN g <= :open
            THEN (ARRAY['new', 'assigned', 'in_progress', 'waiting_citizen'])[1 + g % 4]
            WHEN g % 10 = 0 THEN 'answered' ELSE 'closed' END,
       m.id, m.service_id,
       (ARRAY['Demande de rendez-vous', 'Réclamation sur le délai de traitement',
              'Renouvellement de titre de séjour', 'Horaires d''ouverture du guichet',
              'Permis de conduire : dossier incomplet'])[1 + g % 5] || ' n° ' || g,
       'Citoyen ' || g, 'citoyen' || g || '@example.org',
       now() - make_interval(mins => g), (now() - make_interval(mins => g))::date,
       now() - make_interval(mins => g),
       CASE WHEN g > :open THEN now() - make_interval(mins => g - 2000) END,
       CASE WHEN g > :open THEN (now() - make_interval(mins => g - 2000))::date END,
       CASE WHEN g > :open AND g % 10 <> 0 THEN now() - make_interval(mins => g - 3000) END,
       CASE WHEN g > :open AND g % 10 <> 0 THEN (now() - make_interval(mins => g - 3000))::date END,
       (now() - make_interval(mins => g))::date + 7, false, 1, now()
FROM generate_series(1, :count) AS g
JOIN mailboxes AS m ON m.id = (SELECT min(id) FROM mailboxes) + g % 3
"""
FILL_MESSAGES = """
INSERT INTO messages (case_id, direction, mailbox_id, rfc_message_id, reference_ids, subject,
                      from_name, from_address, to_addresses, cc_addresses, received_at,
                      registered_at, headers, body_text, fingerprint, parse_defects)
SELECT c.id, 'inbound', c.mailbox_id, '<bench-' || c.id || '@example.org>', '[]', c.subject,
       c.sender_name, c.sender_email, '["prefecture@gers.gouv.fr"]', '[]', c.received_at,
       c.registered_at, '[]',
       'Bonjour,' || chr(10) || 'je me permets de vous écrire au sujet de mon dossier '
       || c.reference || '. J''ai déposé ma demande il y a plusieurs semaines et je n''ai '
       || 'toujours pas de nouvelles. Pourriez-vous me dire où en est son traitement et si '
       || 'des pièces manquent ?' || chr(10) || 'Je vous remercie par avance.' || chr(10)
       || c.sender_name,
       md5(c.reference), '[]'
FROM cases AS c
"""


@dataclass(frozen=True)
class Agent:
    """A simulated agent: their token, and the range of case numbers of their service."""

    token: str
    service_index: int


@dataclass
class Timings:
    """Latencies in milliseconds, by page."""

    by_page: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, page: str, milliseconds: float) -> None:
        """Keep one request's latency."""
        self.by_page.setdefault(page, []).append(milliseconds)


@contextmanager
def filled_database(cases: int, *, kept: str | None) -> Iterator[str]:
    """A migrated database with the services, mailboxes, cases and messages, dropped at the end;
    or the database named by --database-url, filled if it holds no case, and kept."""
    if kept:
        upgrade_database(database_url=kept)
        engine = create_db_engine(kept)
        with engine.connect() as connection:
            empty = connection.execute(text("SELECT count(*) FROM services")).scalar_one() == 0
        engine.dispose()
        if empty:
            fill(kept, cases=cases)
        yield kept
        return
    with empty_postgres_database(f"qualipref_bench_{uuid.uuid4().hex[:8]}") as database_url:
        upgrade_database(database_url=database_url)
        fill(database_url, cases=cases)
        yield database_url


def fill(database_url: str, *, cases: int) -> None:
    """Insert the services, mailboxes, cases and messages into a migrated database."""
    engine = create_db_engine(database_url)
    started = time.perf_counter()
    with session_scope(engine) as session:
        for slug, name, kind in SERVICES:
            service = Service(slug=slug, name=name)
            session.add(service)
            session.flush()
            mailbox_in = MailboxCreate(
                slug=slug,
                kind=MailboxKind(kind),
                address=f"{slug}@gers.gouv.fr",
                imap_host="127.0.0.1",
                imap_username=slug,
                password_env="BENCH_PASSWORD",
                start_date=date(2020, 1, 1),
                service_id=service.id,
            )
            create_mailbox(session, mailbox_in=mailbox_in)
    with engine.begin() as connection:
        connection.execute(text(FILL_CASES), {"count": cases, "open": OPEN_CASES})
        connection.execute(text(FILL_MESSAGES))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    print(f"{cases:,} cases and their messages inserted in {time.perf_counter() - started:.0f} s")
    engine.dispose()


def make_agents(database_url: str, *, count: int) -> list[Agent]:
    """Agents spread over the services, each with a personal API token."""
    engine = create_db_engine(database_url)
    agents = []
    with session_scope(engine) as session:
        services = [
            session.exec(select(Service).where(col(Service.slug) == slug)).one()
            for slug, _, _ in SERVICES
        ]
        for number in range(count):
            index = number % len(services)
            user = User(
                email=f"agent{number}-{uuid.uuid4().hex[:6]}@gers.gouv.fr",
                first_name="Agent",
                last_name=str(number),
            )
            session.add(user)
            session.flush()
            service_id = services[index].id
            assert user.id is not None
            assert service_id is not None
            session.add(ServiceMembership(user_id=user.id, service_id=service_id))
            agents.append(
                Agent(token=create_token(session, user=user, name="bench"), service_index=index)
            )
    engine.dispose()
    return agents


@contextmanager
def running_server(database_url: str, *, workers: int) -> Iterator[str]:
    """`qualipref serve` on a free port, with that many processes."""
    port = free_port()
    environment = {
        **os.environ,
        "QUALIPREF_DATABASE_URL": database_url,
        "QUALIPREF_LOG_LEVEL": "WARNING",
        "QUALIPREF_DATA_DIR": f"/var/tmp/qualipref-bench-{port}",
    }
    command = [str(Path(sys.executable).with_name("qualipref")), "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", str(workers)], env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def case_number(generator: random.Random, *, service_index: int, cases: int) -> int:
    """A case of the agent's service, the recent ones more often (the open ones are recent)."""
    recent = generator.random() < 0.7
    upper = min(OPEN_CASES * 3, cases) if recent else cases
    number = generator.randrange(1, upper + 1)
    return number - number % 3 + service_index if number > 3 else service_index + 3


# What agents ask their inbox: mostly the default (cases awaiting an answer, most urgent
# first), sometimes a status, a search by word or by address, the overdue ones, everything.
INBOX_VARIANTS: tuple[dict[str, str], ...] = (
    {},
    {},
    {},
    {"status": "in_progress"},
    {"assignee": "aucun"},
    {"overdue": "1"},
    {"q": "séjour"},
    {"q": "citoyen1234@example.org"},
    {"status": "tous", "sort": "received_at"},
)


async def agent_loop(
    client: httpx.AsyncClient,
    agent: Agent,
    *,
    until: float,
    think: float,
    cases: int,
    timings: Timings,
    generator: random.Random,
) -> None:
    """Click through the inbox and the cases until the time is up."""
    headers = {"Authorization": f"Bearer {agent.token}", "Accept": "text/html"}
    while time.monotonic() < until:
        if generator.random() < 0.5:
            params = dict(generator.choice(INBOX_VARIANTS))
            page, url = ("search" if "q" in params else "inbox"), "/dossiers"
        else:
            number = case_number(generator, service_index=agent.service_index, cases=cases)
            # Filled in order into an empty table: case number g has id g.
            page, url, params = "case", f"/dossiers/{number}", {}
        started = time.perf_counter()
        response = await client.get(url, params=params, headers=headers)
        timings.add(page, (time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            timings.failures.append(f"{response.status_code} {url} {params}")
        if think:
            await asyncio.sleep(generator.expovariate(1 / think))


async def load(
    url: str, agents: list[Agent], *, seconds: float, think: float, cases: int
) -> tuple[Timings, float]:
    """Every agent at work for that long; the timings and the elapsed time."""
    timings = Timings()
    limits = httpx.Limits(max_connections=len(agents), max_keepalive_connections=len(agents))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(
                agent_loop(
                    client,
                    agent,
                    until=until,
                    think=think,
                    cases=cases,
                    timings=timings,
                    generator=random.Random(SEED + index),
                )
                for index, agent in enumerate(agents)
            )
        )
        return timings, time.monotonic() - started


def percentile(values: list[float], share: float) -> float:
    """The value below which that share of the values lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, timings: Timings, elapsed: float) -> None:
    """Requests, median, p95, p99 and throughput per page."""
    print(f"\n{label} ({elapsed:.0f} s)")
    for page, values in sorted(timings.by_page.items()):
        print(
            f"  {page:6} {len(values):6} requests  median {statistics.median(values):6.1f} ms  "
            f"p95 {percentile(values, 0.95):6.1f} ms  p99 {percentile(values, 0.99):6.1f} ms  "
            f"{len(values) / elapsed:6.1f}/s"
        )
    if timings.failures:
        print(f"  {len(timings.failures)} failures, e.g. {timings.failures[:3]}")


def run(
    *,
    cases: int,
    agents: int,
    seconds: float,
    think: float,
    workers: int,
    database_url: str | None,
) -> None:
    """Fill, serve, load with think time, then without."""
    with filled_database(cases, kept=database_url) as database_url:
        simulated = make_agents(database_url, count=agents)
        with running_server(database_url, workers=workers) as url:
            asyncio.run(load(url, simulated, seconds=5, think=think, cases=cases))  # warm-up
            timings, elapsed = asyncio.run(
                load(url, simulated, seconds=seconds, think=think, cases=cases)
            )
            report(f"{agents} agents, think time {think} s on average", timings, elapsed)
            timings, elapsed = asyncio.run(
                load(url, simulated, seconds=seconds / 2, think=0, cases=cases)
            )
            report(f"{agents} agents, no think time (saturated)", timings, elapsed)


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=5.0, help="mean think time, seconds")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to fill if it is empty, and to keep"
    )
    arguments = parser.parse_args()
    run(
        cases=arguments.cases,
        agents=arguments.agents,
        seconds=arguments.seconds,
        think=arguments.think,
        workers=arguments.workers,
        database_url=arguments.database_url,
    )


if __name__ == "__main__":
    main()
