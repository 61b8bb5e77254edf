"""Subscriptions to a page or a unit, the watch over units (red, last three of the group),
the history of its changes, and what was sent to whom (claimed by compare-and-set).

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('condition', sa.String(length=16), nullable=False),
    sa.Column('holds', sa.Boolean(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_alert_events_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events')),
    sa.UniqueConstraint('key', name=op.f('uq_alert_events_key'))
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_events_unit_id'), ['unit_id'], unique=False)

    op.create_table('alert_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('condition', sa.String(length=16), nullable=False),
    sa.Column('holds', sa.Boolean(), nullable=False),
    sa.Column('flips', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_alert_states_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_states')),
    sa.UniqueConstraint('unit_id', 'condition', name=op.f('uq_alert_states_unit_id'))
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('frequency', sa.String(length=8), nullable=False),
    sa.Column('alerts', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscriptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('user_id', 'kind', 'target', name=op.f('uq_subscriptions_user_id'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('subscription_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=1024), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_sends_subscription_id_subscriptions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscription_sends_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_sends')),
    sa.UniqueConstraint('user_id', 'key', 'channel', name=op.f('uq_subscription_sends_user_id'))
    )
    with op.batch_alter_table('subscription_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_sends_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subscription_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_sends_user_id'))

    op.drop_table('subscription_sends')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_user_id'))

    op.drop_table('subscriptions')
    op.drop_table('alert_states')
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_events_unit_id'))
        batch_op.drop_index(batch_op.f('ix_alert_events_at'))

    op.drop_table('alert_events')
