"""the track view follows merges and shows geo's public placement; intake's own record of agents' merges

Revision ID: intake_0003
Revises: intake_0002
Create Date: 2026-11-25
"""

from alembic import op
from civicloop_intake.migrations.outbox_columns import PUBLISHED_HAS_POSITION, PUBLISHING

revision = "intake_0003"
down_revision = "intake_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `intake.tracking.v2` replays the log from offset 0 into this table: it starts empty, or the replay would append
    # every history entry a second time. Until it has caught up, older requests answer track with 404.
    op.execute("truncate intake.tracking")
    op.execute(
        """alter table intake.tracking
             add column merged_into text,
             add column public_address text,
             add column service_areas jsonb not null default '[]'"""
    )
    # Merges accepted by intake's command, kept with their event like submissions: checks of later merges read them
    # before the track view has folded the event, and a retry publishes the very same event.
    op.execute(
        f"""create table intake.merges (
             duplicate text primary key,
             original text not null,
             requested_original text not null,
             event_id uuid not null unique,
             {PUBLISHING},
             check (duplicate <> original),
             {PUBLISHED_HAS_POSITION})"""
    )


def downgrade() -> None:
    op.execute("drop table intake.merges")
    op.execute(
        "alter table intake.tracking drop column service_areas, drop column public_address,"
        " drop column merged_into"
    )
