"""Technical deductions (điểm trừ kỹ thuật): adjustments of a unit's index score, kept when
withdrawn.

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('score_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('indicator', sa.String(length=32), nullable=True),
    sa.Column('group_code', sa.String(length=32), nullable=True),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence_name', sa.String(length=255), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('evidence_size', sa.Integer(), nullable=True),
    sa.Column('evidence_type', sa.String(length=128), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=128), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_score_adjustments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_adjustments'))
    )
    with op.batch_alter_table('score_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_adjustments_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_adjustments_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_adjustments_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('score_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_adjustments_unit_id'))
        batch_op.drop_index(batch_op.f('ix_score_adjustments_period'))
        batch_op.drop_index(batch_op.f('ix_score_adjustments_family'))
    op.drop_table('score_adjustments')
