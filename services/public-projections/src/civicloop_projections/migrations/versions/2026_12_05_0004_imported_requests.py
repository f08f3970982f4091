"""agent read model: the agency and location flag of imported requests, a lookup by a back-end's id; emptied for
projections.agent.v3 to replay

Revision ID: projections_0004
Revises: projections_0003
Create Date: 2026-12-05
"""

from alembic import op

revision = "projections_0004"
down_revision = "projections_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `projections.agent.v3` rebuilds the agent view from offset 0 (imported requests' body, agency and flag; geo's
    # verdicts no longer move `updated_at`): its rows and history must start empty, or the replay would count every
    # event twice and collide on the history's event ids. The v2 group's positions and inbox rows stay, unused.
    op.execute("truncate projections.agent_requests, projections.agent_request_history")
    op.execute(
        """alter table projections.agent_requests
             add column agency_responsible text,
             add column location_flag text"""
    )
    # The lookup by a back-end's id: `external_references @> '[{"body_id": ..., "external_id": ...}]'`.
    op.execute(
        "create index agent_requests_external_references on projections.agent_requests"
        " using gin (external_references jsonb_path_ops)"
    )


def downgrade() -> None:
    op.execute("drop index projections.agent_requests_external_references")
    op.execute(
        "alter table projections.agent_requests drop column location_flag, drop column agency_responsible"
    )
