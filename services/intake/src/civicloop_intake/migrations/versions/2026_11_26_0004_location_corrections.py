"""intake's record of agents' location corrections (idempotency, like submissions)

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-11-26
"""

from alembic import op
from civicloop_intake.migrations.outbox_columns import kept_commands_table

revision = "intake_0004"
down_revision = "intake_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `event` is the LocationCorrected exactly as first built, so a retry under the same key re-publishes the same
    # event. Nothing here is folded: geo answers a correction with a LocationResolved, which the track view folds.
    op.execute(kept_commands_table("location_corrections"))
    op.execute("create index location_corrections_request on intake.location_corrections (request_number)")


def downgrade() -> None:
    op.execute("drop table intake.location_corrections")
