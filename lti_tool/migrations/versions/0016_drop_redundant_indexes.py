"""drop six indexes that repeat the leading columns of a unique constraint's index

Each lookup they served (foreign-key cascades, a user's attempts, a course's class list) is
served as well by the unique index beside them; every INSERT paid for both (an attempt's, a
new student's, each class-list member's).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 22:00:00.000000
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# (table, index, columns): each index's columns lead a unique constraint of its table.
REDUNDANT = (
    ("lti_user", "ix_lti_user_registration_id", ["registration_id"]),
    ("context", "ix_context_deployment_id", ["deployment_id"]),
    ("deployment", "ix_deployment_registration_id", ["registration_id"]),
    ("roster_member", "ix_roster_member_context_id", ["context_id"]),
    ("reflection_mark", "ix_reflection_mark_attempt_id", ["attempt_id"]),
    ("attempt", "ix_attempt_user_link", ["user_id", "resource_link_id"]),
)


def upgrade() -> None:
    """Apply this migration."""
    for table, index, _ in REDUNDANT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)


def downgrade() -> None:
    """Revert this migration."""
    for table, index, columns in REDUNDANT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(index, columns, unique=False)
