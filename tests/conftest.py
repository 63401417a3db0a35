"""Test configuration: isolated settings, a database per run, and the shared fixtures."""

import shutil

import pytest

from tests.fixtures.environment import configure_test_environment

# Before any backend import reads the settings: tests never touch a developer's ./var or .env.
DATA_DIR = configure_test_environment()

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.celery",
    "tests.fixtures.dovecot",
    "tests.fixtures.smtp",
    "tests.fixtures.mailboxes",
    "tests.fixtures.users",
    "tests.fixtures.oidc",
    "tests.fixtures.web",
]


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's data directory (file store, SQLite files) once every test is done."""
    shutil.rmtree(DATA_DIR, ignore_errors=True)
