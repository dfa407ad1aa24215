"""course element totals: each student's mastery per course and element, kept as attempts change

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 21:30:00.000000

Filled from the attempts' stored element scores (no content library needed). Processes of an
older release still serving during a rolling upgrade do not keep these rows: run
`lti-tool db refresh-totals` once the rollout is done (lti_tool.attempts.totals).
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table('course_element_total',
    sa.Column('context_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('element', sa.String(length=100), nullable=False),
    sa.Column('earned', sa.Float(), nullable=False),
    sa.Column('possible', sa.Float(), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['context_id'], ['context.id'], name=op.f('fk_course_element_total_context_id_context'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['lti_user.id'], name=op.f('fk_course_element_total_user_id_lti_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('context_id', 'user_id', 'element', name=op.f('pk_course_element_total')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('course_element_total', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_element_total_user_id'), ['user_id'], unique=False)
    from lti_tool.attempts.totals import refresh_all

    refresh_all(op.get_bind())


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('course_element_total', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_element_total_user_id'))
    op.drop_table('course_element_total')
