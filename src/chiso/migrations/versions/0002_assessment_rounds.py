"""Assessment rounds: rounds, assessments per unit, leaf values, evidence files, survey
rates and the append-only event log (reopening approved data is recorded there).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('method_id', sa.String(length=64), nullable=False),
    sa.Column('method_family', sa.String(length=64), nullable=False),
    sa.Column('method_version', sa.String(length=64), nullable=False),
    sa.Column('method_source', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_rounds')),
    sa.UniqueConstraint('code', name=op.f('uq_assessment_rounds_code'))
    )
    with op.batch_alter_table('assessment_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_rounds_method_family'), ['method_family'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_rounds_method_id'), ['method_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_rounds_year'), ['year'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('group_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['assessment_rounds.id'], name=op.f('fk_assessments_round_id_assessment_rounds')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assessments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('round_id', 'unit_id', name=op.f('uq_assessments_round_id'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_group_code'), ['group_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_unit_id'), ['unit_id'], unique=False)

    op.create_table('survey_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('factor', sa.String(length=128), nullable=False),
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('respondents', sa.Integer(), nullable=False),
    sa.Column('answers', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['assessment_rounds.id'], name=op.f('fk_survey_rates_round_id_assessment_rounds')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_survey_rates_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_rates')),
    sa.UniqueConstraint('round_id', 'unit_id', 'factor', name=op.f('uq_survey_rates_round_id'))
    )
    with op.batch_alter_table('survey_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_rates_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_rates_unit_id'), ['unit_id'], unique=False)

    op.create_table('assessment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_assessment_events_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['round_id'], ['assessment_rounds.id'], name=op.f('fk_assessment_events_round_id_assessment_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_events'))
    )
    with op.batch_alter_table('assessment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_events_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_events_round_id'), ['round_id'], unique=False)

    op.create_table('assessment_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=128), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=128), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_assessment_evidence_assessment_id_assessments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_evidence'))
    )
    with op.batch_alter_table('assessment_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_evidence_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_evidence_sha256'), ['sha256'], unique=False)

    op.create_table('assessment_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('self_value', sa.Float(), nullable=True),
    sa.Column('self_points', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('appraised_value', sa.Float(), nullable=True),
    sa.Column('appraised_points', sa.Float(), nullable=True),
    sa.Column('appraiser_comment', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=128), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_assessment_values_assessment_id_assessments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_values')),
    sa.UniqueConstraint('assessment_id', 'node_id', name=op.f('uq_assessment_values_assessment_id'))
    )
    with op.batch_alter_table('assessment_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_values_assessment_id'), ['assessment_id'], unique=False)

    _append_only_triggers()


# The event log is append-only in the store itself, not only in the application: an audited
# reopening must not be erasable by a later UPDATE or DELETE.
_MESSAGE = "assessment_events is append-only"


def _append_only_triggers() -> None:
    if op.get_context().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER assessment_events_no_{verb.lower()} BEFORE {verb} ON assessment_events "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )
    elif op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION assessment_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER assessment_events_append_only BEFORE UPDATE OR DELETE ON assessment_events "
            "FOR EACH ROW EXECUTE FUNCTION assessment_events_append_only()"
        )


def _drop_triggers() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS assessment_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS assessment_events_no_delete")
    elif op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS assessment_events_append_only ON assessment_events")
        op.execute("DROP FUNCTION IF EXISTS assessment_events_append_only()")



def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table('assessment_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_values_assessment_id'))

    op.drop_table('assessment_values')
    with op.batch_alter_table('assessment_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_evidence_sha256'))
        batch_op.drop_index(batch_op.f('ix_assessment_evidence_assessment_id'))

    op.drop_table('assessment_evidence')
    with op.batch_alter_table('assessment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_events_round_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_events_assessment_id'))

    op.drop_table('assessment_events')
    with op.batch_alter_table('survey_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_rates_unit_id'))
        batch_op.drop_index(batch_op.f('ix_survey_rates_round_id'))

    op.drop_table('survey_rates')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_unit_id'))
        batch_op.drop_index(batch_op.f('ix_assessments_round_id'))
        batch_op.drop_index(batch_op.f('ix_assessments_group_code'))

    op.drop_table('assessments')
    with op.batch_alter_table('assessment_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_rounds_year'))
        batch_op.drop_index(batch_op.f('ix_assessment_rounds_method_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_rounds_method_family'))

    op.drop_table('assessment_rounds')
