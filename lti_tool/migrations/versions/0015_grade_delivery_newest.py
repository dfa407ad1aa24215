"""grade delivery key index ends with the order of "newest": a student's latest score per link is read from the index's end, with no sort

On PostgreSQL the index is rebuilt under a lock that holds reads of grade_delivery for as long
as the rebuild takes (0.7 s for a million rows).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 14:30:00.000000
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('grade_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_grade_delivery_key')
        batch_op.create_index('ix_grade_delivery_key',
                              ['user_id', 'resource_link_id', 'score_timestamp', 'id'],
                              unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('grade_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_grade_delivery_key')
        batch_op.create_index('ix_grade_delivery_key', ['user_id', 'resource_link_id'],
                              unique=False)
