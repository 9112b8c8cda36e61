"""queue time and edit size

Revision ID: 0008
Revises: 0007
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from baton.store.records import edit_size

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # recreate='never': rebuilding runs on SQLite would cascade-delete its steps, decisions and tasks.
    with op.batch_alter_table('runs', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('queue_s', sa.Float(), nullable=True))
        batch_op.drop_index('ix_runs_workflow_status')
        batch_op.create_index('ix_runs_workflow_status', ['workflow', 'status', 'cost_usd', 'review_s', 'touched',
                                                          'has_outcome', 'error_code', 'machine_s', 'queue_s'],
                              unique=False)
    with op.batch_alter_table('decisions', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('edit_size', sa.Float(), nullable=True))
        batch_op.drop_index('ix_decisions_workflow_decision')
        batch_op.create_index('ix_decisions_workflow_decision', ['workflow', 'decision', 'decided_at', 'edit_size'],
                              unique=False)
    _backfill_edit_sizes()
    # Queue times before this revision were never recorded; those runs keep queue_s NULL (not counted).


def _backfill_edit_sizes() -> None:
    """Edit size of the edits decided before this revision, from their task's shown and edited outputs."""
    bind = op.get_bind()
    decisions = sa.table("decisions", sa.column("id", sa.Integer), sa.column("run_id", sa.String),
                         sa.column("step_id", sa.String), sa.column("decision", sa.String),
                         sa.column("edit_size", sa.Float))
    tasks = sa.table("tasks", sa.column("run_id", sa.String), sa.column("gate", sa.String),
                     sa.column("subject", sa.JSON), sa.column("edited_output", sa.JSON))
    query = (sa.select(decisions.c.id, tasks.c.subject, tasks.c.edited_output)
             .join(tasks, sa.and_(tasks.c.run_id == decisions.c.run_id, tasks.c.gate == decisions.c.step_id))
             .where(decisions.c.decision == "edit"))
    for decision_id, subject, edited in bind.execute(query).all():
        shown: dict[str, Any] = subject or {}
        before = shown.get("show", {}).get(shown.get("reviewed_step") or "")
        bind.execute(decisions.update().where(decisions.c.id == decision_id)
                     .values(edit_size=edit_size(before, edited)))


def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_workflow_decision')
        batch_op.create_index('ix_decisions_workflow_decision', ['workflow', 'decision'], unique=False)
        batch_op.drop_column('edit_size')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_workflow_status')
        batch_op.create_index('ix_runs_workflow_status', ['workflow', 'status', 'cost_usd', 'review_s', 'touched',
                                                          'has_outcome', 'error_code', 'machine_s'], unique=False)
        batch_op.drop_column('queue_s')
