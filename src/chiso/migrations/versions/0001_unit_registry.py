"""Unit registry: units, effective-dated parents and names, lineage, groups, meta.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('group_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_en', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_sets')),
    sa.UniqueConstraint('code', name=op.f('uq_group_sets_code'))
    )
    op.create_table('lineage_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_events')),
    sa.UniqueConstraint('key', name=op.f('uq_lineage_events_key'))
    )
    with op.batch_alter_table('lineage_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_events_effective_date'), ['effective_date'], unique=False)

    op.create_table('meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_meta'))
    )
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('official_code', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_en', sa.String(length=255), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('area_km2', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('code', name=op.f('uq_units_code'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_units_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_units_official_code'), ['official_code'], unique=False)

    op.create_table('lineage_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('from_unit_id', sa.Integer(), nullable=False),
    sa.Column('to_unit_id', sa.Integer(), nullable=False),
    sa.Column('share', sa.Float(), nullable=False),
    sa.Column('primary', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['lineage_events.id'], name=op.f('fk_lineage_links_event_id_lineage_events')),
    sa.ForeignKeyConstraint(['from_unit_id'], ['units.id'], name=op.f('fk_lineage_links_from_unit_id_units')),
    sa.ForeignKeyConstraint(['to_unit_id'], ['units.id'], name=op.f('fk_lineage_links_to_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_links')),
    sa.UniqueConstraint('event_id', 'from_unit_id', 'to_unit_id', name=op.f('uq_lineage_links_event_id'))
    )
    with op.batch_alter_table('lineage_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_links_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lineage_links_from_unit_id'), ['from_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lineage_links_to_unit_id'), ['to_unit_id'], unique=False)

    op.create_table('unit_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_en', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['set_id'], ['group_sets.id'], name=op.f('fk_unit_groups_set_id_group_sets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_groups')),
    sa.UniqueConstraint('code', name=op.f('uq_unit_groups_code'))
    )
    with op.batch_alter_table('unit_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_groups_set_id'), ['set_id'], unique=False)

    op.create_table('unit_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_names_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_names'))
    )
    with op.batch_alter_table('unit_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_names_unit_id'), ['unit_id'], unique=False)

    op.create_table('unit_parents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['units.id'], name=op.f('fk_unit_parents_parent_id_units')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_parents_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_parents'))
    )
    with op.batch_alter_table('unit_parents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_parents_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_parents_unit_id'), ['unit_id'], unique=False)

    op.create_table('group_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['unit_groups.id'], name=op.f('fk_group_members_group_id_unit_groups')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_group_members_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_members'))
    )
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_members_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_members_unit_id'), ['unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_members_unit_id'))
        batch_op.drop_index(batch_op.f('ix_group_members_group_id'))

    op.drop_table('group_members')
    with op.batch_alter_table('unit_parents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_parents_unit_id'))
        batch_op.drop_index(batch_op.f('ix_unit_parents_parent_id'))

    op.drop_table('unit_parents')
    with op.batch_alter_table('unit_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_names_unit_id'))

    op.drop_table('unit_names')
    with op.batch_alter_table('unit_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_groups_set_id'))

    op.drop_table('unit_groups')
    with op.batch_alter_table('lineage_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lineage_links_to_unit_id'))
        batch_op.drop_index(batch_op.f('ix_lineage_links_from_unit_id'))
        batch_op.drop_index(batch_op.f('ix_lineage_links_event_id'))

    op.drop_table('lineage_links')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_official_code'))
        batch_op.drop_index(batch_op.f('ix_units_level'))

    op.drop_table('units')
    op.drop_table('meta')
    with op.batch_alter_table('lineage_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lineage_events_effective_date'))

    op.drop_table('lineage_events')
    op.drop_table('group_sets')
