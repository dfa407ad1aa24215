"""grade delivery outbox, service tokens, found line items, sandbox gradebook

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 15:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table('grade_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('resource_link_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=True),
    sa.Column('lineitem_url', sa.String(length=1000), nullable=True),
    sa.Column('lineitem_spec', sa.JSON(), nullable=False),
    sa.Column('score_given', sa.Float(), nullable=True),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('activity_progress', sa.String(length=20), nullable=False),
    sa.Column('grading_progress', sa.String(length=20), nullable=False),
    sa.Column('score_timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'delivered', 'superseded', 'failed_permanent', name='deliverystatus', native_enum=False, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error_status', sa.Integer(), nullable=True),
    sa.Column('last_error_body', sa.Text(), nullable=True),
    sa.Column('last_error_explanation', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_grade_delivery_attempt_id_attempt'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_link_id'], ['resource_link.id'], name=op.f('fk_grade_delivery_resource_link_id_resource_link'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['lti_user.id'], name=op.f('fk_grade_delivery_user_id_lti_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_delivery'))
    )
    with op.batch_alter_table('grade_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_grade_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_grade_delivery_key', ['user_id', 'resource_link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grade_delivery_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('service_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_service_token_registration_id_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_token')),
    sa.UniqueConstraint('registration_id', 'scope_key', name=op.f('uq_service_token_registration_id_scope_key'))
    )

    op.create_table('line_item_link',
    sa.Column('resource_link_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_link_id'], ['resource_link.id'], name=op.f('fk_line_item_link_resource_link_id_resource_link'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_link_id', name=op.f('pk_line_item_link'))
    )

    op.create_table('sandbox_line_item',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=500), nullable=False),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=True),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_line_item'))
    )

    op.create_table('sandbox_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_item_id', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('score_given', sa.Float(), nullable=True),
    sa.Column('score_maximum', sa.Float(), nullable=True),
    sa.Column('activity_progress', sa.String(length=20), nullable=False),
    sa.Column('grading_progress', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_item_id'], ['sandbox_line_item.id'], name=op.f('fk_sandbox_score_line_item_id_sandbox_line_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_score'))
    )
    with op.batch_alter_table('sandbox_score', schema=None) as batch_op:
        batch_op.create_index('ix_sandbox_score_item_user', ['line_item_id', 'user_id'], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('sandbox_score', schema=None) as batch_op:
        batch_op.drop_index('ix_sandbox_score_item_user')
    op.drop_table('sandbox_score')
    op.drop_table('sandbox_line_item')
    op.drop_table('line_item_link')
    op.drop_table('service_token')
    with op.batch_alter_table('grade_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_delivery_attempt_id'))
        batch_op.drop_index('ix_grade_delivery_key')
        batch_op.drop_index('ix_grade_delivery_due')
    op.drop_table('grade_delivery')
