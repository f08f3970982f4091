"""the sweeper finds pending corrections and merges by an index, as it finds pending submissions

Revision ID: intake_0005
Revises: intake_0004
Create Date: 2026-12-04
"""

from alembic import op

revision = "intake_0005"
down_revision = "intake_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `civicloop_events.outbox.Sweeper` asks each table for its oldest pending row every few seconds; without these
    # it would read the whole table. intake.submissions has had `submissions_pending` since intake_0001.
    op.execute(
        "create index location_corrections_pending on intake.location_corrections (created_at)"
        " where state = 'pending'"
    )
    op.execute("create index merges_pending on intake.merges (created_at) where state = 'pending'")


def downgrade() -> None:
    op.execute("drop index intake.merges_pending")
    op.execute("drop index intake.location_corrections_pending")
