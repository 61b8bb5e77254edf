"""Published results imported into a round: an assessment's source ("assessed" or
"published", from outside the round's workflow) and the imported value at any node.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assessment_values', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_value', sa.Float(), nullable=True))

    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='assessed', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_column('source')

    with op.batch_alter_table('assessment_values', schema=None) as batch_op:
        batch_op.drop_column('published_value')

