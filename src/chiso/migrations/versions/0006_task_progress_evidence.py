"""An evidence file on a task progress report (name, checksum, size, type).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('evidence_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('evidence_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('evidence_type', sa.String(length=128), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('task_progress', schema=None) as batch_op:
        batch_op.drop_column('evidence_type')
        batch_op.drop_column('evidence_size')
        batch_op.drop_column('evidence_sha256')
        batch_op.drop_column('evidence_name')

