"""agent read model: routing, delivery to the body, external references, import origin

Revision ID: projections_0002
Revises: projections_0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "projections_0002"
down_revision = "projections_0001"
branch_labels = None
depends_on = None

_FILTERED = ("body_id", "priority", "delivery_state")


def upgrade() -> None:
    op.execute(
        """alter table projections.agent_requests
             add column body_id text,
             add column team text,
             add column priority text,
             add column analysis_codes text[] not null default '{}',
             add column external_references jsonb not null default '[]',
             add column delivery_state text,
             add column delivery_attempts integer not null default 0,
             add column delivery_last_error text,
             add column delivery_retry_at timestamptz,
             add column imported_from jsonb"""
    )
    # Like the other filters: each leads an index that continues in the page order (updated_at desc, request_number).
    for column in _FILTERED:
        op.execute(
            f"create index agent_requests_{column}_page on projections.agent_requests"
            f" ({column}, updated_at desc, request_number)"
        )


def downgrade() -> None:
    for column in _FILTERED:
        op.execute(f"drop index projections.agent_requests_{column}_page")
    op.execute(
        """alter table projections.agent_requests
             drop column imported_from,
             drop column delivery_retry_at,
             drop column delivery_last_error,
             drop column delivery_attempts,
             drop column delivery_state,
             drop column external_references,
             drop column analysis_codes,
             drop column priority,
             drop column team,
             drop column body_id"""
    )
