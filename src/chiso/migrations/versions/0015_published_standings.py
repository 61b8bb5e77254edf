"""Published standings: the scores and ranks the national portal publishes for the province
(its national rank) and for its communes and agencies, per index and period.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('published_standings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('index_code', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('total', sa.Float(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('of', sa.Integer(), nullable=True),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('source_file', sa.String(length=255), nullable=True),
    sa.Column('imported_by', sa.String(length=128), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_published_standings_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_standings')),
    sa.UniqueConstraint('index_code', 'period', 'unit_code', name=op.f('uq_published_standings_index_code'))
    )
    with op.batch_alter_table('published_standings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_standings_index_code'), ['index_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_standings_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_standings_unit_code'), ['unit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_standings_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    op.drop_table('published_standings')
