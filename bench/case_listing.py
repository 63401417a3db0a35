"""Case listing on a large table: does page 500 cost what page 1 costs?

Run by hand (PostgreSQL on 127.0.0.1:5432):

    .venv/bin/python -m bench.case_listing --cases 1000000 --pages 500

Fills an empty, migrated PostgreSQL database with generated cases (one INSERT … SELECT over
generate_series), then walks the list the way the web interface does, through the HTTP API
(`GET /api/v1/cases`, 50 per page, most urgent first, following `next_cursor`), and prints the
time of the first pages and of the last ones. Also times one filtered walk (a status).
"""

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.database import create_db_engine, session_scope
from backend.migrations import upgrade_database
from backend.models import User
from backend.users.tokens import create_token
from tests.fixtures.database import empty_postgres_database

PAGE_SIZE = 50
FILL = """
INSERT INTO cases (reference, channel, kind, status, subject, sender_email, received_at,
                   received_on, registered_at, updated_at, due_date, needs_attention, version)
SELECT 'BENCH-' || lpad(g::text, 7, '0'), 'email', 'information_request',
       (ARRAY['new', 'assigned', 'in_progress', 'answered', 'closed'])[1 + g % 5],
       'Demande n° ' || g, 'citoyen' || g || '@example.org',
       now() - make_interval(mins => g), (now() - make_interval(mins => g))::date, now(), now(),
       current_date - 400 + (g % 800), false, 1
FROM generate_series(1, :count) AS g
"""


@contextmanager
def filled_database(cases: int) -> Iterator[str]:
    """A migrated database holding `cases` cases and one agent."""
    with empty_postgres_database(f"qualipref_bench_{uuid.uuid4().hex[:8]}") as database_url:
        upgrade_database(database_url=database_url)
        engine = create_db_engine(database_url)
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(text(FILL), {"count": cases})
            connection.execute(text("ANALYZE cases"))
        print(f"{cases} cases inserted in {time.perf_counter() - started:.1f} s")
        engine.dispose()
        yield database_url


def agent_token(database_url: str) -> str:
    """A personal API token of a new agent."""
    engine = create_db_engine(database_url)
    with session_scope(engine) as session:
        user = User(email="bench@gers.gouv.fr", first_name="Banc", last_name="Essai")
        session.add(user)
        session.flush()
        token = create_token(session, user=user, name="bench")
    engine.dispose()
    return token


def walk(client: TestClient, *, pages: int, params: dict[str, str]) -> list[float]:
    """Follow the cursors for that many pages; each page's time in milliseconds."""
    timings = []
    cursor: str | None = None
    for _ in range(pages):
        query = {**params, "limit": str(PAGE_SIZE), **({"cursor": cursor} if cursor else {})}
        started = time.perf_counter()
        response = client.get("/api/v1/cases", params=query)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    return timings


def report(label: str, timings: list[float]) -> None:
    """The first pages against the last ones."""
    first, last = timings[1:11], timings[-10:]
    print(
        f"{label}: page 1 {timings[0]:.1f} ms (with the counts per status); pages 2-11 median "
        f"{statistics.median(first):.1f} ms; pages {len(timings) - 9}-{len(timings)} median "
        f"{statistics.median(last):.1f} ms"
    )


def run(*, cases: int, pages: int) -> None:
    """Fill, then walk the list through the API."""
    with filled_database(cases) as database_url:
        os.environ["QUALIPREF_DATABASE_URL"] = database_url
        from backend.main import create_app  # reads the settings, now pointing at the bench

        client = TestClient(create_app())
        client.headers["Authorization"] = f"Bearer {agent_token(database_url)}"
        report("most urgent first", walk(client, pages=pages, params={}))
        report("newest first", walk(client, pages=pages, params={"sort": "received_at"}))
        report("status in_progress", walk(client, pages=pages, params={"status": "in_progress"}))


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=500)
    arguments = parser.parse_args()
    run(cases=arguments.cases, pages=arguments.pages)


if __name__ == "__main__":
    main()
