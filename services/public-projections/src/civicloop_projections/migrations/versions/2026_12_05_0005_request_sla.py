"""SLA read model: each jurisdiction's latest SLA definition, each request's clock and SLA instants, and the state
function queues filter by

Revision ID: projections_0005
Revises: projections_0004
Create Date: 2026-12-05
"""

from alembic import op

revision = "projections_0005"
down_revision = "projections_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled by new consumer groups (projections.sla.v1, projections.sla-definitions.v1), which replay the log from
    # offset 0: the tables start empty.
    op.execute(
        """create table projections.sla_definitions (
             jurisdiction_id text primary key,
             definition jsonb not null,
             defined_at timestamptz not null,
             event_id uuid not null)"""
    )
    op.execute(
        """create table projections.request_sla (
             request_number text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             clock jsonb not null,
             acknowledge_minutes integer,
             acknowledge_at_risk_from timestamptz,
             acknowledge_due_at timestamptz,
             acknowledged_at timestamptz,
             resolve_minutes integer,
             resolve_at_risk_from timestamptz,
             resolve_due_at timestamptz,
             resolved_at timestamptz,
             dormant_from timestamptz)"""
    )
    # A new definition recomputes its jurisdiction's requests; counts per state read one jurisdiction.
    op.execute("create index request_sla_jurisdiction on projections.request_sla (jurisdiction_id)")
    # The requests running towards a deadline, soonest first (what is about to breach).
    op.execute(
        "create index request_sla_resolve_due on projections.request_sla (jurisdiction_id, resolve_due_at)"
        " where resolved_at is null"
    )
    op.execute(
        "create index request_sla_acknowledge_due on projections.request_sla"
        " (jurisdiction_id, acknowledge_due_at) where acknowledged_at is null"
    )

    # One target's state at `now`: the rules of `TargetDeadlines.state_at` (domain/sla.py). Null: no target.
    op.execute(
        """create function projections.sla_target_state(
             minutes integer, at_risk_from timestamptz, due_at timestamptz, done_at timestamptz, now timestamptz)
           returns text language sql immutable as $$
             select case
               when minutes is null then null
               when done_at is not null and done_at <= now
                 then case when due_at is null or done_at <= due_at then 'met' else 'missed' end
               when due_at is not null and now > due_at then 'breached'
               when at_risk_from is not null and now >= at_risk_from then 'at_risk'
               else 'due'
             end
           $$"""
    )
    # A request's state for queues: the worse of its two targets' (`sla.worst`); null when it has none.
    op.execute(
        """create function projections.sla_state(r projections.request_sla, now timestamptz)
           returns text language sql stable as $$
             select (array['breached', 'at_risk', 'due', 'missed', 'met'])[least(
               array_position(array['breached', 'at_risk', 'due', 'missed', 'met'],
                 projections.sla_target_state(r.acknowledge_minutes, r.acknowledge_at_risk_from,
                                              r.acknowledge_due_at, r.acknowledged_at, now)),
               array_position(array['breached', 'at_risk', 'due', 'missed', 'met'],
                 projections.sla_target_state(r.resolve_minutes, r.resolve_at_risk_from,
                                              r.resolve_due_at, r.resolved_at, now)))]
           $$"""
    )


def downgrade() -> None:
    op.execute("drop function projections.sla_state(projections.request_sla, timestamptz)")
    op.execute(
        "drop function projections.sla_target_state(integer, timestamptz, timestamptz, timestamptz, timestamptz)"
    )
    op.execute("drop table projections.request_sla")
    op.execute("drop table projections.sla_definitions")
