"""Standard letters to PDF: one letter's render time, and 1,000 letters through the workers.

Run by hand (PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379, poppler-utils):

    .venv/bin/python -m bench.letters --runs 30 --letters 1000 --repeat 3

First, in this process, each shipped letter is rendered (`render_letter`) and printed
(`letter_pdf`) from the sample context of the template tests, `--runs` times after one
untimed call; prints the page count and the median, p90 and fastest time per template.
Then, for each repeat: an empty PostgreSQL database gets `--letters` open paper cases (one
INSERT … SELECT, each with the citizen's name and postal address) and one agent; one
`qualipref worker --no-beat --concurrency 2` (prefork: two processes, one per CPU) consumes Redis
database 11 (emptied first); one commit queues a letter per case (`enqueue_letters`, by post:
no SMTP), and the wall time runs from that commit until every letter row exists.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from pydantic import JsonValue, TypeAdapter
from sqlalchemy import Engine, text

from backend.config import Settings, get_settings
from backend.database import create_db_engine, session_scope
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import render_letter
from backend.letters.tasks import enqueue_letters
from backend.letters.templates import LetterChannel
from bench.case_listing import filled_database
from bench.ingest_throughput import wait_for_quiet_disks
from tests.backend.letters.test_letter_templates import (
    AGENT_VALUES,
    LETTERS,
    letter_context_for,
    poppler,
)
from tests.fixtures.users import make_agent

REDIS_URL = "redis://127.0.0.1:6379/11"
TARGET_SECONDS_PER_LETTER = 0.3
TARGET_SECONDS_PER_1000 = 90.0
PATIENCE_SECONDS = 900.0
# The generated cases as letters find them: open, from a citizen with a postal address.
RECIPIENTS = """
UPDATE cases SET status = 'in_progress',
                 sender_name = 'Mme Camille Martin-' || id,
                 sender_postal_address = id || ' rue Victor Hugo' || chr(10) || '32000 Auch'
"""


def timed(call: Callable[[], object]) -> float:
    """Seconds the call took."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def page_count(pdf: bytes) -> int:
    """The PDF's number of pages, as pdfinfo reads it."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        info = poppler("pdfinfo", file.name)
    return int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])


def render_one(settings: Settings, name: str, *, runs: int) -> list[float]:
    """Render and print one letter `runs` times after a warm-up; each total in seconds."""
    context = letter_context_for(settings, name)

    def render_and_print() -> bytes:
        rendered = render_letter(settings=settings, template=name, context=context)
        return letter_pdf(rendered.document)

    pages = page_count(render_and_print())  # also the warm-up: imports, fonts, template cache
    timings = [timed(render_and_print) for _ in range(runs)]
    render_median = statistics.median(
        timed(lambda: render_letter(settings=settings, template=name, context=context))
        for _ in range(runs)
    )
    median = statistics.median(timings)
    p90 = statistics.quantiles(timings, n=10, method="inclusive")[8]
    print(
        f"{name:<32} {pages} page{'s' if pages > 1 else ' '}  median {median:.3f} s  "
        f"p90 {p90:.3f} s  min {min(timings):.3f} s  (of which Jinja2 {render_median:.3f} s)"
    )
    return timings if pages == 1 else []


def run_render(*, runs: int) -> None:
    """Time every shipped letter; the one-page ones against the target."""
    settings = Settings()
    print(f"render_letter + letter_pdf, {runs} runs each after one untimed call:")
    one_page = [timing for name in LETTERS for timing in render_one(settings, name, runs=runs)]
    median = statistics.median(one_page)
    verdict = "met" if median <= TARGET_SECONDS_PER_LETTER else "MISSED"
    print(
        f"one-page letters together: median {median:.3f} s, p90 "
        f"{statistics.quantiles(one_page, n=10, method='inclusive')[8]:.3f} s: target "
        f"<= {TARGET_SECONDS_PER_LETTER} s {verdict}"
    )


def count(engine: Engine, query: str) -> int:
    """The single integer a query returns."""
    with engine.connect() as connection:
        return int(connection.execute(text(query)).scalar_one())


def start_worker(*, concurrency: int, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """`qualipref worker` as production runs it, beat aside, in its own process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "worker",
            "--no-beat",
            f"--concurrency={concurrency}",
        ],
        env={**os.environ, **environment, "QUALIPREF_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,  # Celery's banner; warnings and errors go to stderr
    )


def run_workers(*, letters: int, concurrency: int, template: str) -> float:
    """Send a letter to each of `letters` new cases through the workers; the seconds it took."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    with (
        filled_database(letters) as database_url,
        tempfile.TemporaryDirectory(dir="/var/tmp") as data_dir,
    ):
        environment = {
            "QUALIPREF_DATABASE_URL": database_url,
            "QUALIPREF_DATA_DIR": data_dir,
            "QUALIPREF_BROKER_URL": REDIS_URL,
        }
        # The after-commit hook sends through workers.app, built from these settings.
        os.environ.update(environment)
        get_settings.cache_clear()
        from workers.app import celery_app

        assert celery_app.conf.broker_url == REDIS_URL, "workers.app was imported too early"
        engine = create_db_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text(RECIPIENTS))
        with session_scope(engine) as session:
            actor_id = make_agent(session).user.id
            case_ids = list(session.execute(text("SELECT id FROM cases ORDER BY id")).scalars())
        assert actor_id is not None
        worker = start_worker(concurrency=concurrency, environment=environment)
        try:
            # The worker is up and consuming before the clock starts.
            celery_app.send_task("qualipref.ping").get(timeout=120)
            wait_for_quiet_disks()
            cpu_before = process_tree_cpu_seconds(worker.pid)
            started = time.perf_counter()
            with session_scope(engine) as session:
                enqueue_letters(
                    session,
                    case_ids=case_ids,
                    template_name=template,
                    values=TypeAdapter(dict[str, JsonValue]).validate_python(
                        AGENT_VALUES[template]
                    ),
                    channel=LetterChannel.POST,
                    actor_id=actor_id,
                    settings=get_settings(),
                )
            done = 0
            while done < letters and time.perf_counter() - started < PATIENCE_SECONDS:
                time.sleep(0.2)
                done = count(engine, "SELECT count(*) FROM letters")
            elapsed = time.perf_counter() - started
            cpu = process_tree_cpu_seconds(worker.pid) - cpu_before
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        with engine.connect() as connection:
            statuses = ", ".join(
                f"{number} {status}"
                for status, number in connection.execute(
                    text("SELECT status, count(*) FROM cases GROUP BY status ORDER BY status")
                )
            )
        engine.dispose()
    redis.Redis.from_url(REDIS_URL).flushdb()
    print(
        f"{done} letters in {elapsed:.1f} s = {done / elapsed:.1f} letters/s "
        f"({elapsed / max(done, 1) * 1000:.0f} ms each); cases now {statuses}; worker CPU "
        f"{cpu:.0f} s = {cpu / elapsed / concurrency:.0%} of {concurrency} CPUs over the run"
    )
    return elapsed if done == letters else float("inf")


def process_tree_cpu_seconds(pid: int) -> float:
    """User and system CPU used so far by a process and its descendants (from /proc)."""
    proc = Path(f"/proc/{pid}")
    try:
        # Fields 14 and 15 of stat, after the parenthesised command name.
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(child)
            for task in (proc / "task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except FileNotFoundError:  # it exited meanwhile
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_tree_cpu_seconds(child) for child in children)


def main() -> None:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--template", choices=["reponse-libre", "demande-pieces"], default="reponse-libre"
    )
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    arguments = parser.parse_args()
    if not arguments.skip_render:
        run_render(runs=arguments.runs)
    if arguments.skip_workers:
        return
    template = arguments.template
    totals = [
        run_workers(letters=arguments.letters, concurrency=arguments.concurrency, template=template)
        for _ in range(arguments.repeat)
    ]
    median = statistics.median(totals)
    target = TARGET_SECONDS_PER_1000 * arguments.letters / 1000
    verdict = "met" if median <= target else "MISSED"
    print(
        f"{arguments.letters} x {template} by post, {arguments.concurrency} worker processes: "
        f"median {median:.1f} s over {arguments.repeat} runs; target <= {target:.0f} s {verdict}"
    )


if __name__ == "__main__":
    main()
