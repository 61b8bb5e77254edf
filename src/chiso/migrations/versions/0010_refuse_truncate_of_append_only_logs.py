"""The append-only logs refuse TRUNCATE too.

On PostgreSQL the row triggers of 0002 and 0008 refuse UPDATE and DELETE, but TRUNCATE fires
no row trigger: one statement could empty the audit log or the assessment event log. A
statement-level trigger BEFORE TRUNCATE closes that (the owner can still drop the trigger,
which a database superuser can always do; an application account cannot). SQLite has no
TRUNCATE: its DELETE triggers already hold.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# (table, the function that raises its "… is append-only" message, made by 0002 and 0008)
_LOGS = (("audit_log", "audit_log_refuse"), ("assessment_events", "assessment_events_append_only"))


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, refuse in _LOGS:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {refuse}()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, _refuse in _LOGS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
