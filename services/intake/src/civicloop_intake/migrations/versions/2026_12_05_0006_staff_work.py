"""staff commands on requests: the state they are checked against, and the commands kept with their event

Revision ID: intake_0006
Revises: intake_0005
Create Date: 2026-12-05
"""

from alembic import op
from civicloop_intake.migrations.outbox_columns import kept_commands_table

revision = "intake_0006"
down_revision = "intake_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Folded from the whole log by `intake.worked_requests.v1` (from offset 0: the table starts empty).
    op.execute(
        """create table intake.worked_requests (
             request_number text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             status text not null,
             updated_at timestamptz not null,
             team_id text,
             staff_id text,
             priority text not null,
             visits jsonb not null default '[]',
             merged_into text,
             address text)"""
    )
    # The outbox of staff commands, under their Idempotency-Key. `folded`: the fold above has applied the event; until
    # then a command on the same request is checked against the state with this event applied on top.
    op.execute(kept_commands_table("staff_work"))
    op.execute("alter table intake.staff_work add column folded boolean not null default false")
    op.execute(
        "create index staff_work_not_folded on intake.staff_work (request_number, created_at) where not folded"
    )
    op.execute("create index staff_work_pending on intake.staff_work (created_at) where state = 'pending'")


def downgrade() -> None:
    op.execute("drop table intake.staff_work")
    op.execute("drop table intake.worked_requests")
