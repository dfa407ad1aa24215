"""admin sign-in attempts for throttling by address and account

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 05:05:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table('admin_sign_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_sign_in'))
    )
    with op.batch_alter_table('admin_sign_in', schema=None) as batch_op:
        batch_op.create_index('ix_admin_sign_in_address', ['address'], unique=False)
        batch_op.create_index('ix_admin_sign_in_at', ['at'], unique=False)
        batch_op.create_index('ix_admin_sign_in_email', ['email'], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('admin_sign_in', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_sign_in_email')
        batch_op.drop_index('ix_admin_sign_in_at')
        batch_op.drop_index('ix_admin_sign_in_address')
    op.drop_table('admin_sign_in')
