"""inbox awaiting index

The inbox lists the cases still owed an answer, most urgent first: a partial index on them
alone, so the list no longer walks years of closed cases in due-date order.

Revision ID: ef870fff0c7f
Revises: 3b9d0c5e2a71
Create Date: 2026-11-26 11:03:51.408570
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ef870fff0c7f"
down_revision: str | None = "3b9d0c5e2a71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWAITING_PREDICATE = (
    "status IN ('assigned', 'in_progress', 'new', 'waiting_citizen') AND merged_into_id IS NULL"
)


def upgrade() -> None:
    # Not in a batch: on SQLite a batch could copy the table and lose its triggers.
    op.create_index(
        "ix_cases_awaiting_due_date",
        "cases",
        ["due_date", "id"],
        unique=False,
        postgresql_where=sa.text(AWAITING_PREDICATE),
        sqlite_where=sa.text(AWAITING_PREDICATE),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_awaiting_due_date", table_name="cases")
