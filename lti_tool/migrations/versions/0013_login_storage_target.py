"""Platform storage: the frame a login stored its state in (lti_storage_target)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 05:55:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('login_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage_target', sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('login_state', schema=None) as batch_op:
        batch_op.drop_column('storage_target')
