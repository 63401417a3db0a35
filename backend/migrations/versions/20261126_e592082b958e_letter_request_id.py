"""letter request id

Revision ID: e592082b958e
Revises: 24fdde30b1de
Create Date: 2026-11-26 02:57:00.434927
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e592082b958e'
down_revision: str | None = '24fdde30b1de'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_letters_request_id'), ['request_id'])



def downgrade() -> None:
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_letters_request_id'), type_='unique')
        batch_op.drop_column('request_id')

