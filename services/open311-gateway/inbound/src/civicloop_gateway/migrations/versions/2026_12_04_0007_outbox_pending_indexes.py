"""the sweeper finds pending submissions and updates by an index

Revision ID: gateway_0007
Revises: gateway_0006
Create Date: 2026-12-04
"""

from alembic import op

revision = "gateway_0007"
down_revision = "gateway_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `civicloop_events.outbox.Sweeper` asks each table for its oldest pending row every few seconds; without these
    # it would read the whole table.
    op.execute(
        "create index if not exists submissions_pending on gateway.submissions (created_at) where state = 'pending'"
    )
    op.execute(
        "create index if not exists posted_updates_pending on gateway.posted_updates (created_at)"
        " where state = 'pending'"
    )


def downgrade() -> None:
    op.execute("drop index if exists gateway.posted_updates_pending")
    op.execute("drop index if exists gateway.submissions_pending")
