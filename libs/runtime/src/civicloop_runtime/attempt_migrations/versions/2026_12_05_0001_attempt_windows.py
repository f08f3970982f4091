"""attempts counted per key in a window, shared by every replica (civicloop_runtime.attempt_limits)

Revision ID: attempts_0001
Revises:
Create Date: 2026-12-05
"""

from alembic import op

revision = "attempts_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """create table attempts.windows (
             scope text not null,
             key text not null,
             started_at timestamptz not null,
             attempts integer not null,
             primary key (scope, key))"""
    )


def downgrade() -> None:
    op.execute("drop table attempts.windows")
