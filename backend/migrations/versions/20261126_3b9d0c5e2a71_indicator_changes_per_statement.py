"""indicator changes per statement

On PostgreSQL, an INSERT or DELETE of cases or waiting periods now logs one indicator change
per statement (the earliest day of all its rows, read from the statement's transition table)
instead of one per row: a batch of 200 ingested messages writes one change row, not 200.
UPDATE keeps its row trigger, which names the columns the indicators read (PostgreSQL does not
allow a column list with a transition table). SQLite has no statement triggers: unchanged.

Revision ID: 3b9d0c5e2a71
Revises: 77404e41fd45
Create Date: 2026-11-26 10:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3b9d0c5e2a71"
down_revision: str | None = "77404e41fd45"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASE_DAYS = ("received_on", "answered_on", "holding_reply_on", "closed_on", "due_date")
# trigger name → (table, event, transition table, function, earliest day of a row `r`)
STATEMENT_TRIGGERS = {
    "indicator_case_inserted": (
        "cases",
        "INSERT",
        "NEW",
        "indicator_cases_inserted",
        f"LEAST({', '.join(f'r.{day}' for day in CASE_DAYS)})",
    ),
    "indicator_case_deleted": (
        "cases",
        "DELETE",
        "OLD",
        "indicator_cases_deleted",
        f"LEAST({', '.join(f'r.{day}' for day in CASE_DAYS)})",
    ),
    "indicator_wait_inserted": (
        "waiting_periods",
        "INSERT",
        "NEW",
        "indicator_waits_inserted",
        "r.started_on",
    ),
    "indicator_wait_deleted": (
        "waiting_periods",
        "DELETE",
        "OLD",
        "indicator_waits_deleted",
        "r.started_on",
    ),
}
ROW_FUNCTIONS = {"cases": "indicator_case_changed", "waiting_periods": "indicator_wait_changed"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, (table, event, transition, function, first_day) in STATEMENT_TRIGGERS.items():
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(f"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO indicator_changes (from_day)
                SELECT first_day FROM (SELECT min({first_day}) AS first_day FROM changed_rows AS r)
                    AS earliest
                WHERE first_day IS NOT NULL;
                RETURN NULL;
            END $$""")
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON {table} "
            f"REFERENCING {transition} TABLE AS changed_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, (table, event, _transition, function, _first_day) in STATEMENT_TRIGGERS.items():
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {ROW_FUNCTIONS[table]}()"
        )
