"""Steering tasks and the committee; indicators, targets and their colour flips.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('committee_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_members')),
    sa.UniqueConstraint('code', name=op.f('uq_committee_members_code'))
    )
    op.create_table('committee_member_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['committee_members.id'], name=op.f('fk_committee_member_units_member_id_committee_members')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_committee_member_units_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_member_units')),
    sa.UniqueConstraint('member_id', 'unit_id', name=op.f('uq_committee_member_units_member_id'))
    )
    with op.batch_alter_table('committee_member_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_member_units_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_member_units_unit_id'), ['unit_id'], unique=False)

    op.create_table('indicator_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=128), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('entered_by', sa.String(length=128), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_indicator_values_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_values')),
    sa.UniqueConstraint('indicator', 'unit_id', 'period', name=op.f('uq_indicator_values_indicator'))
    )
    with op.batch_alter_table('indicator_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_values_indicator'), ['indicator'], unique=False)
        batch_op.create_index(batch_op.f('ix_indicator_values_unit_id'), ['unit_id'], unique=False)

    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('indicator', sa.String(length=128), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('include_subunits', sa.Boolean(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('goal', sa.Float(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=True),
    sa.Column('amber', sa.JSON(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_targets_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets')),
    sa.UniqueConstraint('code', name=op.f('uq_targets_code'))
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_unit_id'), ['unit_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner', sa.String(length=255), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('product', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('member_in_charge', sa.String(length=255), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('target_code', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('completed_at', sa.Date(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['committee_members.id'], name=op.f('fk_tasks_member_id_committee_members')),
    sa.ForeignKeyConstraint(['parent_id'], ['tasks.id'], name=op.f('fk_tasks_parent_id_tasks')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_tasks_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('code', name=op.f('uq_tasks_code'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_unit_id'), ['unit_id'], unique=False)

    op.create_table('target_flips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.Date(), nullable=False),
    sa.Column('from_colour', sa.String(length=8), nullable=True),
    sa.Column('to_colour', sa.String(length=8), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_target_flips_target_id_targets')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_target_flips_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_flips'))
    )
    with op.batch_alter_table('target_flips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_target_flips_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_target_flips_target_id'), ['target_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_target_flips_to_colour'), ['to_colour'], unique=False)
        batch_op.create_index(batch_op.f('ix_target_flips_unit_id'), ['unit_id'], unique=False)

    op.create_table('task_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('by', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_progress_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_progress'))
    )
    with op.batch_alter_table('task_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_progress_task_id'), ['task_id'], unique=False)

    op.create_table('task_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_units_task_id_tasks')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_task_units_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_units')),
    sa.UniqueConstraint('task_id', 'unit_id', name=op.f('uq_task_units_task_id'))
    )
    with op.batch_alter_table('task_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_units_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_units_unit_id'), ['unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_units_unit_id'))
        batch_op.drop_index(batch_op.f('ix_task_units_task_id'))

    op.drop_table('task_units')
    with op.batch_alter_table('task_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_progress_task_id'))

    op.drop_table('task_progress')
    with op.batch_alter_table('target_flips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_target_flips_unit_id'))
        batch_op.drop_index(batch_op.f('ix_target_flips_to_colour'))
        batch_op.drop_index(batch_op.f('ix_target_flips_target_id'))
        batch_op.drop_index(batch_op.f('ix_target_flips_at'))

    op.drop_table('target_flips')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_unit_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_parent_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_owner'))
        batch_op.drop_index(batch_op.f('ix_tasks_member_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_deadline'))

    op.drop_table('tasks')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_unit_id'))

    op.drop_table('targets')
    with op.batch_alter_table('indicator_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_values_unit_id'))
        batch_op.drop_index(batch_op.f('ix_indicator_values_indicator'))

    op.drop_table('indicator_values')
    with op.batch_alter_table('committee_member_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_committee_member_units_unit_id'))
        batch_op.drop_index(batch_op.f('ix_committee_member_units_member_id'))

    op.drop_table('committee_member_units')
    op.drop_table('committee_members')
