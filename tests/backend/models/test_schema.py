"""The schema: migrations match the tables, on SQLite and PostgreSQL, and forbid duplicates."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from backend.models import Case, Mailbox, Message, metadata
from tests.fixtures.database import empty_postgres_database, empty_sqlite_database
from tests.fixtures.environment import RUN_ID

APPLICATION_TABLES = {
    "api_tokens",
    "appointment_slots",
    "attachments",
    "audit_events",
    "calendar_days",
    "canned_replies",
    "case_reference_counters",
    "cases",
    "indicator_changes",
    "indicator_month_cache",
    "letters",
    "mailbox_sync_states",
    "mailboxes",
    "manual_indicator_values",
    "manual_indicators",
    "messages",
    "outbox_emails",
    "service_memberships",
    "services",
    "user_sessions",
    "users",
    "waiting_periods",
}
# Full-text search (GIN over to_tsvector): PostgreSQL only, SQLite searches with LIKE.
POSTGRESQL_ONLY_INDEXES = {"ix_cases_search", "ix_messages_search"}


def _qualipref_db_upgrade(database_url: str, data_dir: Path) -> None:
    environment = {
        **os.environ,
        "QUALIPREF_DATABASE_URL": database_url,
        "QUALIPREF_DATA_DIR": str(data_dir),
    }
    subprocess.run(
        [sys.executable, "-m", "backend.cli", "db", "upgrade"],
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _schema_of(database_url: str) -> dict[str, dict[str, object]]:
    """Tables -> columns, unique constraints and indexes, in a dialect-neutral form."""
    engine = sa.create_engine(database_url)
    inspector = sa.inspect(engine)
    schema: dict[str, dict[str, object]] = {}
    for table in inspector.get_table_names():
        schema[table] = {
            "columns": sorted(
                (column["name"], column["nullable"]) for column in inspector.get_columns(table)
            ),
            "unique": sorted(
                tuple(constraint["column_names"])
                for constraint in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (index["name"], tuple(index["column_names"]))
                for index in inspector.get_indexes(table)
                if "duplicates_constraint" not in index  # PostgreSQL's index behind a UNIQUE
            ),
        }
    engine.dispose()
    return schema


def test_db_upgrade_gives_identical_schemas_on_postgresql_and_sqlite(tmp_path: Path) -> None:
    with (
        empty_postgres_database(f"qualipref_schema_{RUN_ID}") as postgres_url,
        empty_sqlite_database(tmp_path / "sqlite") as sqlite_url,
    ):
        _qualipref_db_upgrade(postgres_url, tmp_path)
        _qualipref_db_upgrade(sqlite_url, tmp_path)
        postgres_schema = _schema_of(postgres_url)
        sqlite_schema = _schema_of(sqlite_url)

    postgres_only = _pop_indexes(postgres_schema, names=POSTGRESQL_ONLY_INDEXES)
    assert set(postgres_schema) == APPLICATION_TABLES | {"alembic_version"}
    assert postgres_schema == sqlite_schema
    assert postgres_only == POSTGRESQL_ONLY_INDEXES


def _pop_indexes(schema: dict[str, dict[str, object]], *, names: set[str]) -> set[str]:
    """Remove these indexes from the schema; the names of those it had."""
    found = set()
    for table in schema.values():
        indexes = table["indexes"]
        assert isinstance(indexes, list)
        found |= {name for name, _ in indexes if name in names}
        table["indexes"] = [index for index in indexes if index[0] not in names]
    return found


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_match_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)

    assert differences == [], f"a migration is missing: {differences}"


def _case(session: Session, reference: str) -> Case:
    case = Case(
        reference=reference,
        subject="Demande",
        received_at=datetime.now(UTC),
        received_on=datetime.now(UTC).date(),
    )
    session.add(case)
    session.flush()
    return case


def _imap_message(
    case: Case, mailbox: Mailbox, *, uid: int, rfc_message_id: str, fingerprint: str = "f1"
) -> Message:
    assert case.id is not None
    assert mailbox.id is not None
    return Message(
        case_id=case.id,
        mailbox_id=mailbox.id,
        imap_folder="INBOX",
        imap_uidvalidity=1700000000,
        imap_uid=uid,
        rfc_message_id=rfc_message_id,
        fingerprint=fingerprint,
        subject="Demande",
        body_text="Bonjour",
        received_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("second_uid", "second_message_id"),
    [(7, "b@example.org"), (8, "a@example.org")],
    ids=["same IMAP UID", "same Message-ID and content"],
)
def test_the_same_message_cannot_be_logged_twice_in_a_mailbox(
    session: Session, contact_mailbox: Mailbox, second_uid: int, second_message_id: str
) -> None:
    mailbox = contact_mailbox
    case = _case(session, "GERS-2026-000001")
    session.add(_imap_message(case, mailbox, uid=7, rfc_message_id="a@example.org"))
    session.flush()

    session.add(_imap_message(case, mailbox, uid=second_uid, rfc_message_id=second_message_id))
    with pytest.raises(IntegrityError):
        session.flush()


def test_distinct_messages_reusing_a_message_id_are_both_kept(
    session: Session, contact_mailbox: Mailbox
) -> None:
    mailbox = contact_mailbox
    case = _case(session, "GERS-2026-000001")
    session.add(_imap_message(case, mailbox, uid=7, rfc_message_id="a@example.org"))
    session.add(
        _imap_message(case, mailbox, uid=8, rfc_message_id="a@example.org", fingerprint="f2")
    )

    session.flush()


def test_case_references_are_unique(session: Session) -> None:
    _case(session, "GERS-2026-000001")

    with pytest.raises(IntegrityError):
        _case(session, "GERS-2026-000001")


def test_timestamps_come_back_timezone_aware_in_utc(session: Session) -> None:
    paris_summer = timezone(timedelta(hours=2))
    received = datetime(2026, 7, 14, 9, 30, tzinfo=paris_summer)
    case = Case(
        reference="GERS-2026-000002",
        subject="Courrier",
        received_at=received,
        received_on=received.date(),
    )
    session.add(case)
    session.flush()
    session.expire_all()

    loaded = session.get(Case, case.id)

    assert loaded is not None
    assert loaded.received_at == received
    assert loaded.received_at.tzinfo is not None
    assert loaded.received_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(
        Case(
            reference="GERS-2026-000003",
            subject="x",
            received_at=datetime(2026, 1, 5),
            received_on=date(2026, 1, 5),
        )
    )

    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.flush()
