"""the track view keeps the link that brought each report (a poster's `poster-<id>`), to count reports by source

Revision ID: intake_0011
Revises: intake_0010
Create Date: 2026-12-05
"""

from alembic import op

revision = "intake_0011"
down_revision = "intake_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table intake.tracking add column link_source text")
    op.execute(
        "create index tracking_link_source on intake.tracking (jurisdiction_id, link_source)"
        " where link_source is not null"
    )


def downgrade() -> None:
    op.execute("drop index intake.tracking_link_source")
    op.execute("alter table intake.tracking drop column link_source")
