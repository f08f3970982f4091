"""the agents' console sessions: the browser holds an opaque id (its SHA-256 is the key here), the staff access
token stays on the server until it expires or the agent signs out

Revision ID: intake_0013
Revises: intake_0012
Create Date: 2026-12-05
"""

from alembic import op

revision = "intake_0013"
down_revision = "intake_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "create table intake.console_sessions ("
        " session_hash bytea primary key,"
        " staff_id uuid not null,"
        " access_token text not null,"
        " csrf_token text not null,"
        " expires_at timestamptz not null,"
        " created_at timestamptz not null default now())"
    )
    op.execute("create index console_sessions_expiry on intake.console_sessions (expires_at)")


def downgrade() -> None:
    op.execute("drop table intake.console_sessions")
