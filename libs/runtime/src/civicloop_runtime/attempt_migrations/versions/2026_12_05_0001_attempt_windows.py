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
    # Unlogged: no WAL, so counting an attempt waits for no disk flush (a track with the right phone writes twice).
    # A crash or a failover empties it, which ends the lockouts early; nothing else is lost.
    op.execute(
        """create unlogged table attempts.windows (
             scope text not null,
             key text not null,
             started_at timestamptz not null,
             attempts integer not null,
             primary key (scope, key))"""
    )


def downgrade() -> None:
    op.execute("drop table attempts.windows")
