"""Sources belong to accounts: who owns each source of records, and the sources a user or a
token may write.

``record_sources`` names each source's owning unit (None: the province). ``users.sources``
and ``api_tokens.sources`` are space-separated source names; empty means no limit beyond
ownership (a token's list further limits its user's).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('record_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_record_sources_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_record_sources_name'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sources', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sources', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('sources')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('sources')
    op.drop_table('record_sources')
