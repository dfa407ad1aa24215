"""roster cache and reflection marks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 14:05:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table('roster_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.Integer(), nullable=False),
    sa.Column('user_sub', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('given_name', sa.String(length=255), nullable=True),
    sa.Column('family_name', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['context_id'], ['context.id'], name=op.f('fk_roster_member_context_id_context'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_member')),
    sa.UniqueConstraint('context_id', 'user_sub', name=op.f('uq_roster_member_context_id_user_sub'))
    )
    with op.batch_alter_table('roster_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_member_context_id'), ['context_id'], unique=False)

    op.create_table('reflection_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.String(length=100), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_reflection_mark_attempt_id_attempt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['marker_id'], ['lti_user.id'], name=op.f('fk_reflection_mark_marker_id_lti_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reflection_mark')),
    sa.UniqueConstraint('attempt_id', 'activity_id', name=op.f('uq_reflection_mark_attempt_id_activity_id'))
    )
    with op.batch_alter_table('reflection_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reflection_mark_attempt_id'), ['attempt_id'], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('reflection_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reflection_mark_attempt_id'))
    op.drop_table('reflection_mark')
    with op.batch_alter_table('roster_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_member_context_id'))
    op.drop_table('roster_member')
