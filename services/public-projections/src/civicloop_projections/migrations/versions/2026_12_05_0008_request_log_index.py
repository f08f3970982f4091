"""request log index: where each request's events stand on the log (partition, offset), so an auditor's replay of one
request seeks to its records instead of reading the whole topic

Revision ID: projections_0008
Revises: projections_0007
Create Date: 2026-12-05
"""

from alembic import op
from civicloop_events.request_index import TABLE, request_index_ddl

revision = "projections_0008"
down_revision = "projections_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled by a new consumer group (projections.request-index.v1), which replays the log from offset 0.
    for statement in request_index_ddl("projections"):
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"drop table projections.{TABLE}")
    op.execute("delete from projections.inbox where consumer = 'projections.request-index.v1'")
    op.execute("delete from projections.consumer_positions where consumer = 'projections.request-index.v1'")
