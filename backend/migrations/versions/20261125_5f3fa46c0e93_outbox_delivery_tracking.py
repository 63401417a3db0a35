"""outbox delivery tracking: recipient for the rate limit, transmission marker, late composition

Revision ID: 5f3fa46c0e93
Revises: 7ad03c423187
Create Date: 2026-11-25 22:25:30.000774
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5f3fa46c0e93'
down_revision: str | None = '7ad03c423187'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=320), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('transmission_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_emails_purpose_recipient_created_at', ['purpose', 'recipient', 'created_at'], unique=False)
        batch_op.alter_column('raw_sha256', existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.alter_column('raw_sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index('ix_outbox_emails_purpose_recipient_created_at')
        batch_op.drop_column('transmission_started_at')
        batch_op.drop_column('recipient')
