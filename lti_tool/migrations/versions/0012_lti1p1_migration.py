"""LTI 1.1 migration: the 1.1 key and secret per registration, the 1.1 user_id per user

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 05:50:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lti1p1_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('lti1p1_secret', sa.String(length=255), nullable=True))
    with op.batch_alter_table('lti_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lti1p1_user_id', sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('lti_user', schema=None) as batch_op:
        batch_op.drop_column('lti1p1_user_id')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('lti1p1_secret')
        batch_op.drop_column('lti1p1_key')
