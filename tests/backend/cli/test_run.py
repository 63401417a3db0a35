"""`qualipref run` brings the whole embedded system up and Ctrl-C brings it down."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend import __version__

STARTUP_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 45


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _embedded_environment(*, data_dir: Path, port: int) -> dict[str, str]:
    """The environment of a fresh laptop: only a data directory and a port are chosen."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("QUALIPREF_")
    }
    environment.update({"QUALIPREF_DATA_DIR": str(data_dir), "QUALIPREF_API_PORT": str(port)})
    return environment


def _running_processes() -> dict[int, int]:
    """Parent pid by pid of every process that is not a zombie, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            parents[int(stat.parent.name)] = int(parent)
    return parents


def _descendants(pid: int) -> set[int]:
    """Every running process below pid."""
    parents = _running_processes()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _survivors(pids: set[int]) -> set[int]:
    """The pids still running a few seconds on (pool processes exit just after their parent)."""
    deadline = time.monotonic() + 10
    while (alive := pids & _running_processes().keys()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


def _wait_until_ready(*, url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "qualipref run stopped during startup"
        try:
            response = httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code == 200:
            return response
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {STARTUP_TIMEOUT_SECONDS} s")


def test_run_serves_a_ready_api_and_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "run"],
        env=_embedded_environment(data_dir=tmp_path / "var", port=port),
        cwd=tmp_path,
    )
    try:
        response = _wait_until_ready(url=f"http://127.0.0.1:{port}/readyz", process=process)
        assert response.json()["checks"] == {"database": "ok", "broker": "ok"}
        children = _descendants(process.pid)
        assert len(children) >= 3  # the API, the worker and the IDLE watcher, at least

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _survivors(children) == set(), "a process outlived qualipref run"
    assert (tmp_path / "var" / "qualipref.sqlite").is_file()


def test_version_option_prints_the_installed_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == f"qualipref {__version__}"
