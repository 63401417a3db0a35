"""`qualipref serve`, `worker`, `beat` and `run`: the long-running processes."""

import logging
import signal
import subprocess
import sys
import time
from types import FrameType

import typer
import uvicorn

from backend.config import get_settings
from backend.demo.cli import load_on_first_run
from backend.migrations import upgrade_database

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 30.0
SUPERVISOR_POLL_SECONDS = 0.2


def serve(
    host: str | None = typer.Option(None, help="Adresse d'écoute (réglage api_host par défaut)."),
    port: int | None = typer.Option(None, help="Port d'écoute (réglage api_port par défaut)."),
    workers: int | None = typer.Option(
        None, min=1, help="Nombre de processus (réglage api_workers par défaut)."
    ),
) -> None:
    """Serve the web application and the API."""
    settings = get_settings()
    uvicorn.run(
        "backend.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers or settings.api_workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


def worker(
    beat: bool | None = typer.Option(
        None,
        "--beat/--no-beat",
        help="Lancer aussi l'ordonnanceur (par défaut : oui sur la configuration embarquée).",
    ),
    concurrency: int | None = typer.Option(None, help="Nombre de processus de travail."),
) -> None:
    """Run a Celery worker (with the beat scheduler embedded on the SQLite default)."""
    from workers.app import celery_app

    settings = get_settings()
    embedded = settings.broker_url.startswith("sqla+")
    arguments = [
        "worker",
        f"--loglevel={settings.log_level}",
        f"--concurrency={concurrency or settings.worker_concurrency}",
    ]
    if embedded if beat is None else beat:
        arguments += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.worker_main(argv=arguments)


def beat() -> None:
    """Run the Celery beat scheduler alone (production: exactly one per installation)."""
    from workers.app import celery_app

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.data_dir / "celerybeat-schedule"
    celery_app.start(argv=["beat", f"--loglevel={settings.log_level}", f"--schedule={schedule}"])


def run() -> None:
    """Migrate, then run the API, a worker with beat and the IDLE watcher until Ctrl-C."""
    settings = get_settings()
    upgrade_database(database_url=settings.database_url)
    load_on_first_run(settings=settings)
    children = {
        "api": _start_child("serve"),
        "worker": _start_child("worker", "--beat"),
        "idle": _start_child("idle"),
    }
    typer.echo(
        f"Qualipref démarré : http://{settings.api_host}:{settings.api_port}/ (Ctrl-C pour arrêter)"
    )
    exit_code = _supervise(children)
    raise typer.Exit(exit_code)


def _start_child(*arguments: str) -> subprocess.Popen[bytes]:
    # Own process group: Ctrl-C reaches only the supervisor, which stops each child once.
    return subprocess.Popen([sys.executable, "-m", "backend.cli", *arguments], process_group=0)


def _supervise(children: dict[str, subprocess.Popen[bytes]]) -> int:
    """Wait for a stop signal or a child's death, then stop every child; the exit code."""
    stop_requested = False

    def request_stop(signal_number: int, _frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    dead_child = None
    while not stop_requested and dead_child is None:
        time.sleep(SUPERVISOR_POLL_SECONDS)
        dead_child = next(
            (name for name, child in children.items() if child.poll() is not None), None
        )
    if dead_child is not None:
        typer.echo(f"Le processus {dead_child} s'est arrêté : arrêt des autres.", err=True)
    _stop_children(children)
    return 0 if dead_child is None else 1


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop within %.0f s: killed", name, STOP_GRACE_SECONDS)
            child.kill()
            child.wait()
