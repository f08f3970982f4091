"""geo's decisions: one per submission, kept across consumer versions, so a replay never decides twice

Revision ID: geo_0003
Revises: geo_0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "geo_0003"
down_revision = "geo_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """create table geo.decisions (
             request_id text primary key,
             outcome text not null,
             cause_event_id uuid not null,
             decided_at timestamptz not null default now())"""
    )


def downgrade() -> None:
    op.execute("drop table if exists geo.decisions")
