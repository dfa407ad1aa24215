"""deep linking responses and sandbox links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 14:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table('deep_link_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('launch_id', sa.String(length=64), nullable=False),
    sa.Column('content_items', sa.JSON(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['launch_id'], ['launch.id'], name=op.f('fk_deep_link_response_launch_id_launch'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deep_link_response')),
    sa.UniqueConstraint('launch_id', name=op.f('uq_deep_link_response_launch_id'))
    )
    op.create_table('sandbox_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('custom', sa.JSON(), nullable=False),
    sa.Column('line_item', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_link')),
    sa.UniqueConstraint('resource_link_id', name=op.f('uq_sandbox_link_resource_link_id'))
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table('sandbox_link')
    op.drop_table('deep_link_response')
