"""submissions (idempotency), the catalogue view, the track view, the consumers' inbox and positions

Revision ID: intake_0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op
from civicloop_events.consumer import consumer_tables_ddl
from civicloop_intake.migrations.outbox_columns import kept_commands_table

revision = "intake_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `event` is the envelope exactly as first published (contact sealed), so a retry re-publishes the same event.
    op.execute(
        kept_commands_table(
            "submissions", "constraint submissions_request_number_key unique (request_number)"
        )
    )
    op.execute("create index submissions_pending on intake.submissions (created_at) where state = 'pending'")
    op.execute(
        """create table intake.services (
             jurisdiction_id text not null,
             service_code text not null,
             service_name text not null,
             active boolean not null,
             attributes jsonb not null default '[]',
             event_id uuid not null,
             defined_at timestamptz not null,
             primary key (jurisdiction_id, service_code))"""
    )
    # `contact` is the SealedPersonalData of the event, never clear text.
    op.execute(
        """create table intake.tracking (
             request_number text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             description text not null,
             status text not null,
             contact jsonb,
             submitted_at timestamptz not null,
             updated_at timestamptz not null,
             history jsonb not null default '[]')"""
    )
    for ddl in consumer_tables_ddl("intake"):
        op.execute(ddl)


def downgrade() -> None:
    for table in ("consumer_positions", "inbox", "tracking", "services", "submissions"):
        op.execute(f"drop table intake.{table}")
