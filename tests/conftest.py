"""Test configuration: isolated settings, a database per run, and the shared fixtures."""

from tests.fixtures.environment import configure_test_environment

# Before any backend import reads the settings: tests never touch a developer's ./var or .env.
configure_test_environment()

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.celery",
    "tests.fixtures.dovecot",
    "tests.fixtures.smtp",
    "tests.fixtures.mailboxes",
]
