"""appointment slots

Revision ID: 24fdde30b1de
Revises: ca6ef32e133e
Create Date: 2026-11-26 02:23:53.682535
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '24fdde30b1de'
down_revision: str | None = 'ca6ef32e133e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('appointment_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_appointment_slots_case_id_cases')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_appointment_slots_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_slots')),
    sa.UniqueConstraint('service_id', 'starts_at', name=op.f('uq_appointment_slots_service_id_starts_at'))
    )
    with op.batch_alter_table('appointment_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_slots_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appointment_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_slots_case_id'))

    op.drop_table('appointment_slots')
