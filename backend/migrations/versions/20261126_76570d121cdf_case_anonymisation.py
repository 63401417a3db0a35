"""case anonymisation

Revision ID: 76570d121cdf
Revises: ed151f2af721
Create Date: 2026-11-26 04:57:05.795360
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '76570d121cdf'
down_revision: str | None = 'ed151f2af721'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')

