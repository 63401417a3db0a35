"""Database engine and sessions: the request (or the task) owns the transaction."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from psycopg.errors import QueryCanceled
from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from backend.config import get_settings

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Values per IN (...) list: well under SQLite's 32,766 parameters and quick to plan.
IN_LIST_SIZE = 1000

T = TypeVar("T")


def in_list_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """Slices of values small enough for one IN (...) list each."""
    for start in range(0, len(values), IN_LIST_SIZE):
        yield values[start : start + IN_LIST_SIZE]


def dialect_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows ON CONFLICT, for the database the session is bound to."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"Qualipref needs PostgreSQL or SQLite, not {dialect}")


def create_db_engine(database_url: str, *, echo: bool = False) -> Engine:
    """An engine for PostgreSQL or SQLite, with SQLite made safe for several processes."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )
    _make_sqlite_transactions_immediate(engine)
    return engine


def _make_sqlite_transactions_immediate(engine: Engine) -> None:
    """Take SQLite's write lock at BEGIN, so concurrent writers wait instead of failing.

    pysqlite's own transaction handling defers BEGIN and a deferred transaction that reads
    then writes gets SQLITE_BUSY without waiting when another process wrote meanwhile; the
    API, the workers and the CLI all write to the same file.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() folds ASCII only: "SÉJOUR" would not match "séjour".
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _unicode_lower(value: object) -> object:
    """lower() as PostgreSQL does it, for every alphabet."""
    return value.lower() if isinstance(value, str) else value


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine built from the settings."""
    return create_db_engine(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction commits when the block ends and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class QueryTooLongError(Exception):
    """A query given a time limit (time_limited) ran past it and was cancelled."""


@contextmanager
def time_limited(session: Session, *, seconds: float) -> Iterator[None]:
    """Cancel the block's queries that run longer than this (PostgreSQL; SQLite is not limited)
    and raise QueryTooLongError; the rest of the transaction goes on, from a savepoint."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    try:
        with session.begin_nested():
            limit = f"{max(1, int(seconds * 1000))}ms"
            session.execute(
                text("SELECT set_config('statement_timeout', :limit, true)"), {"limit": limit}
            )
            yield
            session.execute(text("SELECT set_config('statement_timeout', '0', true)"))
    except OperationalError as error:
        if isinstance(error.orig, QueryCanceled):
            raise QueryTooLongError(str(error.orig)) from error
        raise


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one transaction per request, committed before the response."""
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
