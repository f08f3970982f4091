"""a rebuild also holds the first correction of a request geo had not placed, until geo's reaction to it

Revision ID: geo_0006
Revises: geo_0005
Create Date: 2026-12-05
"""

from alembic import op

revision = "geo_0006"
down_revision = "geo_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `event_id` (the submission) is null once the submission's decision has come by and only the correction waits.
    op.execute(
        """alter table geo.replay_pending
             alter column event_id drop not null,
             add column correction_id uuid,
             add column corrected_status text not null default 'open',
             add column corrected_merged_into text"""
    )


def downgrade() -> None:
    op.execute(
        """alter table geo.replay_pending
             drop column corrected_merged_into,
             drop column corrected_status,
             drop column correction_id"""
    )
    op.execute("delete from geo.replay_pending where event_id is null")
    op.execute("alter table geo.replay_pending alter column event_id set not null")
