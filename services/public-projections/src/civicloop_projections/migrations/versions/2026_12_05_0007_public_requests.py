"""The public read model: each request as the public sees it, with no personal data (docs/public.md)

Revision ID: projections_0007
Revises: projections_0006
Create Date: 2026-12-05
"""

from alembic import op

revision = "projections_0007"
down_revision = "projections_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled by a new consumer group (projections.public.v1), which replays the log from offset 0. Its columns are
    # the whole of what the public may see of a request: no contact, resident, exact point, description or staff.
    op.execute(
        """create table projections.public_requests (
             request_number text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             status text not null,
             submitted_at timestamptz not null,
             acknowledged_at timestamptz,
             closed_at timestamptz,
             close_reason text,
             h3_cell text,
             h3_resolution smallint,
             cell_lat double precision,
             cell_long double precision,
             block_address text,
             service_areas text[],
             public_note text,
             nps_score smallint check (nps_score between 0 and 10),
             fixed boolean)"""
    )
    op.execute(
        "create index public_requests_submitted on projections.public_requests (jurisdiction_id, submitted_at)"
    )
    op.execute(
        "create index public_requests_closed on projections.public_requests (jurisdiction_id, closed_at)"
        " where closed_at is not null"
    )


def downgrade() -> None:
    op.execute("drop table projections.public_requests")
