"""a rebuild's submissions whose decision is not on the log yet, kept in the rebuild's transactions

Revision ID: geo_0005
Revises: geo_0004
Create Date: 2026-12-05
"""

from alembic import op

revision = "geo_0005"
down_revision = "geo_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written only by `civicloop-geo rebuild`: a submission stays here from its offset until geo's reaction to it,
    # with the status changes and merges that came in between (`domain/replay.py`). In the database rather than in
    # the process, so a batch that rolls back, or a runner that restarts, takes its share back with it.
    op.execute(
        """create table geo.replay_pending (
             request_id text primary key,
             event_id uuid not null,
             jurisdiction_id text not null,
             service_code text not null,
             submitted_at timestamptz not null,
             status text not null default 'open',
             merged_into text)"""
    )


def downgrade() -> None:
    op.execute("drop table if exists geo.replay_pending")
