"""Live feeds from the one-stop systems: ``source_feeds`` (one per record source that is
pulled: its URL, schedule, encrypted token, watermark, claim and last error) and
``feed_pages`` (each committed page, its counts and rejects).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_source_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('protocol', sa.String(length=32), nullable=False),
    sa.Column('every_seconds', sa.Integer(), nullable=False),
    sa.Column('token_sealed', sa.Text(), nullable=True),
    sa.Column('token_env', sa.String(length=128), nullable=True),
    sa.Column('watermark', sa.String(length=14), nullable=True),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('claim_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_counts', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_source_id'], ['record_sources.id'], name=op.f('fk_source_feeds_record_source_id_record_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_feeds')),
    sa.UniqueConstraint('name', name=op.f('uq_source_feeds_name')),
    sa.UniqueConstraint('record_source_id', name=op.f('uq_source_feeds_record_source_id'))
    )
    op.create_table('feed_pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.String(length=14), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('read', sa.Integer(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('rejects', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['source_feeds.id'], name=op.f('fk_feed_pages_feed_id_source_feeds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_pages')),
    sa.UniqueConstraint('feed_id', 'since', 'sha256', name=op.f('uq_feed_pages_feed_id'))
    )
    with op.batch_alter_table('feed_pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_pages_feed_id'), ['feed_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feed_pages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_pages_feed_id'))
    op.drop_table('feed_pages')
    op.drop_table('source_feeds')
