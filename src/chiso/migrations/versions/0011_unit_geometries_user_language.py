"""Unit boundaries for the map, and each person's language kept on the account.

``unit_geometries`` holds one GeoJSON polygon per unit (``chiso units geometry import``);
``users.language`` the language a person chose with the language link (None: the store's).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unit_geometries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('geojson', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_geometries_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_geometries')),
        sa.UniqueConstraint('unit_id', name=op.f('uq_unit_geometries_unit_id')),
    )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('language')
    op.drop_table('unit_geometries')
