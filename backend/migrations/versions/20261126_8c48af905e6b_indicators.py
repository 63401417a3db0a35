"""indicators: local dates of receipt and answer, the delay calendar, manual indicators

Revision ID: 8c48af905e6b
Revises: 72c33bbc99c5
Create Date: 2026-11-26 01:13:11.826717
"""

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

import sqlalchemy as sa
from alembic import op

from backend.config import get_settings

revision: str = '8c48af905e6b'
down_revision: str | None = '72c33bbc99c5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('calendar', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('working_days_through', sa.Integer(), nullable=False),
    sa.Column('start_number', sa.Integer(), nullable=False),
    sa.Column('month_last_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('calendar', 'day', name=op.f('pk_calendar_days'))
    )
    op.create_table('manual_indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('periodicity', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_indicators')),
    sa.UniqueConstraint('label', name=op.f('uq_manual_indicators_label'))
    )
    op.create_table('manual_indicator_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_manual_indicator_values_entered_by_id_users')),
    sa.ForeignKeyConstraint(['indicator_id'], ['manual_indicators.id'], name=op.f('fk_manual_indicator_values_indicator_id_manual_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_indicator_values')),
    sa.UniqueConstraint('indicator_id', 'month', name=op.f('uq_manual_indicator_values_indicator_id_month'))
    )
    with op.batch_alter_table('manual_indicator_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_indicator_values_entered_by_id'), ['entered_by_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('holding_reply_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('answered_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_cases_answered_at_channel_kind'))
        batch_op.create_index('ix_cases_answered_on', ['answered_on'], unique=False)
        batch_op.create_index('ix_cases_received_on', ['received_on'], unique=False)

    with op.batch_alter_table('waiting_periods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))

    _fill_local_dates('cases', {'received_at': 'received_on', 'holding_reply_at': 'holding_reply_on', 'answered_at': 'answered_on', 'closed_at': 'closed_on'})
    _fill_local_dates('waiting_periods', {'started_at': 'started_on', 'ended_at': 'ended_on'})
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('received_on', existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table('waiting_periods', schema=None) as batch_op:
        batch_op.alter_column('started_on', existing_type=sa.Date(), nullable=False)


def _fill_local_dates(table_name: str, columns: dict[str, str]) -> None:
    """The day at the préfecture of each existing instant (SQLite cannot convert time zones)."""
    zone = get_settings().tzinfo
    connection = op.get_bind()
    table = sa.table(table_name, sa.column('id'), *(sa.column(name) for name in (*columns, *columns.values())))
    rows = connection.execute(sa.select(table.c.id, *(table.c[name] for name in columns))).all()
    for row in rows:
        values = {day: _local_day(row._mapping[instant], zone) for instant, day in columns.items()}
        connection.execute(sa.update(table).where(table.c.id == row.id).values(values))


def _local_day(value: datetime | str | None, zone: tzinfo) -> object:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()



def downgrade() -> None:
    with op.batch_alter_table('waiting_periods', schema=None) as batch_op:
        batch_op.drop_column('ended_on')
        batch_op.drop_column('started_on')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_received_on')
        batch_op.drop_index('ix_cases_answered_on')
        batch_op.create_index(batch_op.f('ix_cases_answered_at_channel_kind'), ['answered_at', 'channel', 'kind'], unique=False)
        batch_op.drop_column('closed_on')
        batch_op.drop_column('answered_on')
        batch_op.drop_column('holding_reply_on')
        batch_op.drop_column('received_on')

    with op.batch_alter_table('manual_indicator_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_indicator_values_entered_by_id'))

    op.drop_table('manual_indicator_values')
    op.drop_table('manual_indicators')
    op.drop_table('calendar_days')
