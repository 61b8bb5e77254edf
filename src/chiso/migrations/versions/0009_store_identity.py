"""The store's identity: one row naming the store and where its records live.

The row is created here, so every store has an identity from the moment its schema exists
(whether ``chiso init``, a test or ``chiso restore`` made it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import uuid
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('store_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('records_path', sa.Text(), nullable=True),
    sa.Column('records_created_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_store_identity_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_identity'))
    )
    op.bulk_insert(table, [{"id": 1, "store_id": uuid.uuid4().hex, "created_at": datetime.now(timezone.utc)}])


def downgrade() -> None:
    op.drop_table('store_identity')
