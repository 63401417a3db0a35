"""mailbox polling state and message fingerprint

Revision ID: 7ad03c423187
Revises: 414b2253c927
Create Date: 2026-11-25 10:49:35.505999
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7ad03c423187'
down_revision: str | None = '414b2253c927'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_before_start_date', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('poll_lease_owner', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('poll_lease_expires_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=False, server_default=''))
        batch_op.drop_constraint(batch_op.f('uq_messages_mailbox_id_rfc_message_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_messages_mailbox_id_rfc_message_id_fingerprint'), ['mailbox_id', 'rfc_message_id', 'fingerprint'])



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_messages_mailbox_id_rfc_message_id_fingerprint'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_messages_mailbox_id_rfc_message_id'), ['mailbox_id', 'rfc_message_id'])
        batch_op.drop_column('fingerprint')

    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.drop_column('poll_lease_expires_at')
        batch_op.drop_column('poll_lease_owner')
        batch_op.drop_column('next_poll_at')
        batch_op.drop_column('import_before_start_date')

