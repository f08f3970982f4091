"""intake's record of agents' location corrections (idempotency, like submissions)

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-11-26
"""

from alembic import op

revision = "intake_0004"
down_revision = "intake_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `event` is the LocationCorrected exactly as first built, so a retry under the same key re-publishes the same
    # event. Nothing here is folded: geo answers a correction with a LocationResolved, which the track view folds.
    op.execute(
        """create table intake.location_corrections (
             idempotency_key text primary key check (length(idempotency_key) between 1 and 255),
             request_number text not null,
             event_id uuid not null unique,
             body_hash text not null,
             event json not null,
             state text not null default 'pending' check (state in ('pending', 'published')),
             partition integer,
             kafka_offset bigint,
             created_at timestamptz not null default now(),
             published_at timestamptz,
             constraint published_has_position
               check ((state = 'published') = (kafka_offset is not null and published_at is not null)))"""
    )
    op.execute("create index location_corrections_request on intake.location_corrections (request_number)")


def downgrade() -> None:
    op.execute("drop table intake.location_corrections")
