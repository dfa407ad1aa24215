"""attempt element scores: what each submitted attempt evidences per element, for the class view

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 07:30:00.000000

Existing submitted attempts are scored once, on the module version each was taken on, from
the content library the environment configures (LTI_TOOL_CONTENT_DIR, LTI_TOOL_CONTENT_STORE).
An attempt on a version no longer installed gets no rows: the class view does not show such
attempts anyway. Older processes still serving during a rolling upgrade store none either:
run `lti-tool db backfill-scores` once the rollout is done (lti_tool.attempts.evidence).
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table('attempt_element_score',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('element', sa.String(length=100), nullable=False),
    sa.Column('earned', sa.Float(), nullable=False),
    sa.Column('possible', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_element_score_attempt_id_attempt'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'element', name=op.f('pk_attempt_element_score')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.create_index('ix_attempt_class_view', ['resource_link_id', 'user_id', 'status', 'module_id', 'module_version', 'number', 'percent', 'pending_manual', 'submitted_at', 'updated_at', 'created_at'], unique=False)
    _backfill(op.get_bind())


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_class_view')
    op.drop_table('attempt_element_score')


def _backfill(connection: sa.Connection) -> None:
    """Score every submitted attempt once and store its element figures."""
    submitted = sa.table("attempt", sa.column("status", sa.String)).c.status == "submitted"
    if not connection.scalar(sa.select(sa.func.count()).where(submitted)):
        return  # a new database: no content library needed
    # The tool's own scoring, loaded only when there is something to score.
    from lti_tool.attempts.evidence import backfill
    from lti_tool.config import Config
    from lti_tool.content import Library

    config = Config()
    # Course totals come later (0017), filled from these rows.
    backfill(connection, Library.from_packages(config.CONTENT_DIR, config.CONTENT_STORE),
             keep_totals=False)
