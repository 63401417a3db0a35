"""Checks that the dependencies the application needs answer."""

from collections.abc import Callable

from kombu.connection import Connection
from sqlalchemy import Engine

CHECK_TIMEOUT_SECONDS = 3.0


def check_database(engine: Engine) -> None:
    """Raise unless the database answers a trivial query.

    Through the driver's connection: the probe must not open a transaction, which on SQLite
    would take the write lock (see backend.database) and wait behind a long writer.
    """
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
    finally:
        connection.close()


def check_broker(broker_url: str) -> None:
    """Raise unless the Celery broker accepts a connection."""
    with Connection(broker_url, connect_timeout=CHECK_TIMEOUT_SECONDS) as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def run_checks(checks: dict[str, Callable[[], None]]) -> dict[str, str]:
    """Run each check; 'ok' or the reason it failed, by name."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            results[name] = f"{type(error).__name__}: {str(error)[:300]}"
        else:
            results[name] = "ok"
    return results
