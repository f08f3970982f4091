"""the jurisdictions' SLA definitions, folded from `jurisdiction.sla.defined` (the latest per jurisdiction)

Revision ID: intake_0009
Revises: intake_0008
Create Date: 2026-12-05
"""

from alembic import op

revision = "intake_0009"
down_revision = "intake_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per jurisdiction: the whole definition of its latest event (each replaces every earlier one), and
    # which event that was, so `sla show` and the admin route say who defined it and when.
    op.execute(
        """create table intake.sla_definitions (
             jurisdiction_id text primary key,
             definition jsonb not null,
             event_id uuid not null,
             actor_kind text not null,
             actor_id text,
             defined_at timestamptz not null)"""
    )


def downgrade() -> None:
    op.execute("drop table intake.sla_definitions")
