"""indicator month cache

The figures of months that are over are kept; triggers on cases and waiting_periods log every
change that can alter them, with the earliest day it touches, so the cache can drop the months
from that day on whatever code or SQL made the change.

Revision ID: cf97494c82a8
Revises: e592082b958e
Create Date: 2026-11-26 04:28:26.567627
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'cf97494c82a8'
down_revision: str | None = 'e592082b958e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the indicators read of a case: its days, and what it is grouped and counted by.
CASE_DAYS = ("received_on", "answered_on", "holding_reply_on", "closed_on", "due_date")
CASE_GROUPING = ("channel", "kind", "mailbox_id", "service_id", "merged_into_id")
WAIT_COLUMNS = ("case_id", "started_on", "ended_on")
TRIGGERS = (
    ("cases", "indicator_case_inserted"),
    ("cases", "indicator_case_updated"),
    ("cases", "indicator_case_deleted"),
    ("waiting_periods", "indicator_wait_inserted"),
    ("waiting_periods", "indicator_wait_updated"),
    ("waiting_periods", "indicator_wait_deleted"),
)
# SQLite's min() is NULL if any argument is: a day later than any, for "no day".
NO_DAY = "'9999-12-31'"


class Dialect:
    """How each database writes "the earliest of these days" and "has changed"."""

    def __init__(self, *, postgresql: bool) -> None:
        self.postgresql = postgresql
        self.distinct = "IS DISTINCT FROM" if postgresql else "IS NOT"

    def earliest(self, days: Sequence[str]) -> str:
        """The earliest of these day expressions, NULLs left out."""
        if self.postgresql:
            return f"LEAST({', '.join(days)})"
        return f"min({', '.join(f'coalesce({day}, {NO_DAY})' for day in days)})"

    def changed(self, columns: Sequence[str]) -> str:
        """True when any of these columns has a new value."""
        return " OR ".join(f"OLD.{column} {self.distinct} NEW.{column}" for column in columns)

    def case_day(self, row: str) -> str:
        """The earliest day of one version of a case."""
        return self.earliest([f"{row}.{column}" for column in CASE_DAYS])

    def updated_case_day(self) -> str:
        """The earliest day an update can alter a figure of: a changed day, old or new, or
        the whole case's span when what it is grouped or counted by has changed."""
        changed_days = [
            f"CASE WHEN {self.changed([column])} "
            f"THEN {self.earliest([f'OLD.{column}', f'NEW.{column}'])} END"
            for column in CASE_DAYS
        ]
        regrouped = (
            f"CASE WHEN {self.changed(CASE_GROUPING)} "
            f"THEN {self.earliest([self.case_day('OLD'), self.case_day('NEW')])} END"
        )
        return self.earliest([*changed_days, regrouped])


def _create_postgresql_triggers() -> None:
    sql = Dialect(postgresql=True)
    # A wait changes the delay of its case's answer, given on or after the day it began.
    for function, first_day in (
        (
            "indicator_case_changed",
            (sql.case_day("NEW"), sql.case_day("OLD"), sql.updated_case_day()),
        ),
        (
            "indicator_wait_changed",
            ("NEW.started_on", "OLD.started_on", "LEAST(OLD.started_on, NEW.started_on)"),
        ),
    ):
        inserted, deleted, updated = first_day
        op.execute(f"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO indicator_changes (from_day) VALUES (CASE TG_OP
                    WHEN 'INSERT' THEN {inserted}
                    WHEN 'DELETE' THEN {deleted}
                    ELSE {updated} END);
                RETURN NULL;
            END $$""")
    for table, prefix, columns in (
        ("cases", "indicator_case", (*CASE_DAYS, *CASE_GROUPING)),
        ("waiting_periods", "indicator_wait", WAIT_COLUMNS),
    ):
        function = f"{prefix}_changed"
        for event, done in (("INSERT", "inserted"), ("DELETE", "deleted")):
            op.execute(
                f"CREATE TRIGGER {prefix}_{done} AFTER {event} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
        op.execute(
            f"CREATE TRIGGER {prefix}_updated AFTER UPDATE OF {', '.join(columns)} ON {table} "
            f"FOR EACH ROW WHEN ({sql.changed(columns)}) EXECUTE FUNCTION {function}()"
        )


def _create_sqlite_triggers() -> None:
    sql = Dialect(postgresql=False)
    case_columns = (*CASE_DAYS, *CASE_GROUPING)
    triggers = {
        "indicator_case_inserted": ("AFTER INSERT ON cases", sql.case_day("NEW")),
        "indicator_case_deleted": ("AFTER DELETE ON cases", sql.case_day("OLD")),
        "indicator_case_updated": (
            f"AFTER UPDATE OF {', '.join(case_columns)} ON cases WHEN {sql.changed(case_columns)}",
            sql.updated_case_day(),
        ),
        "indicator_wait_inserted": ("AFTER INSERT ON waiting_periods", "NEW.started_on"),
        "indicator_wait_deleted": ("AFTER DELETE ON waiting_periods", "OLD.started_on"),
        "indicator_wait_updated": (
            f"AFTER UPDATE OF {', '.join(WAIT_COLUMNS)} ON waiting_periods "
            f"WHEN {sql.changed(WAIT_COLUMNS)}",
            sql.earliest(["OLD.started_on", "NEW.started_on"]),
        ),
    }
    for name, (when, first_day) in triggers.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} "
            f"BEGIN INSERT INTO indicator_changes (from_day) VALUES ({first_day}); END"
        )


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "indicator_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_changes")),
    )
    with op.batch_alter_table("indicator_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_changes_from_day"), ["from_day"], unique=False
        )
    op.create_table(
        "indicator_month_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_key", sa.String(length=200), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("month_last_day", sa.Date(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_month_cache")),
        sa.UniqueConstraint(
            "scope_key", "month", name=op.f("uq_indicator_month_cache_scope_key_month")
        ),
    )
    with op.batch_alter_table("indicator_month_cache", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_month_cache_month_last_day"), ["month_last_day"], unique=False
        )

    # ### end Alembic commands ###
    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql_triggers()
    else:
        _create_sqlite_triggers()


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        op.execute("DROP FUNCTION indicator_case_changed()")
        op.execute("DROP FUNCTION indicator_wait_changed()")
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("indicator_month_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_month_cache_month_last_day"))

    op.drop_table("indicator_month_cache")
    op.drop_table("indicator_changes")
    # ### end Alembic commands ###
