"""attempt version for optimistic concurrency

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('version')
