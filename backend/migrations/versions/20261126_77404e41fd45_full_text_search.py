"""full text search

Revision ID: 77404e41fd45
Revises: 76570d121cdf
Create Date: 2026-11-26 09:52:17.686598

French full-text search of the inbox on PostgreSQL: GIN indexes of the same expressions as
backend.models (cases: subject, sender name and address; messages: body). SQLite searches
with LIKE and gets no index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "77404e41fd45"
down_revision: str | None = "76570d121cdf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASES_VECTOR = (
    "to_tsvector('french'::regconfig, "
    "subject || ' ' || coalesce(sender_name, '') || ' ' || coalesce(sender_email, '')"
    " || ' ' || translate(coalesce(sender_email, ''), '@', ' ')"
    " || ' ' || translate(coalesce(sender_email, ''), '@.+_-', '     '))"
)
MESSAGES_VECTOR = "to_tsvector('french'::regconfig, body_text)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_cases_search ON cases USING gin ({CASES_VECTOR})")
    op.execute(f"CREATE INDEX ix_messages_search ON messages USING gin ({MESSAGES_VECTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_messages_search")
    op.execute("DROP INDEX ix_cases_search")
