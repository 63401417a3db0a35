"""indicators covering index

Revision ID: ca6ef32e133e
Revises: 8c48af905e6b
Create Date: 2026-11-26 02:15:22.227632
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'ca6ef32e133e'
down_revision: str | None = '8c48af905e6b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_received_on'))
        batch_op.create_index('ix_cases_indicators', ['received_on', 'answered_on', 'holding_reply_on', 'closed_on', 'due_date', 'channel', 'kind', 'mailbox_id', 'service_id', 'merged_into_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_indicators')
        batch_op.create_index(batch_op.f('ix_cases_received_on'), ['received_on'], unique=False)

