"""selfheal: the consumers' inbox and positions, its view (requests, bodies, SLA definitions, hot spots, dead
letters), the action ledger and the runs

Revision ID: selfheal_0001
Revises:
Create Date: 2026-12-05
"""

from alembic import op
from civicloop_events.consumer import consumer_tables_ddl

revision = "selfheal_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for ddl in consumer_tables_ddl("selfheal"):
        op.execute(ddl)
    # A request as the sweep judges it (domain/view.py, as JSON); `closed` (or merged) ones are never read by a sweep.
    op.execute(
        """create table selfheal.requests (
             request_number text primary key,
             jurisdiction_id text not null,
             closed boolean not null,
             view jsonb not null,
             updated_at timestamptz not null default now())"""
    )
    op.execute("create index requests_open on selfheal.requests (request_number) where not closed")
    op.execute(
        """create table selfheal.bodies (
             jurisdiction_id text not null,
             body_id text not null,
             paused boolean not null default false,
             failing_since timestamptz,
             failures integer not null default 0,
             primary key (jurisdiction_id, body_id))"""
    )
    op.execute(
        """create table selfheal.sla_definitions (
             jurisdiction_id text primary key,
             definition jsonb not null)"""
    )
    op.execute(
        """create table selfheal.clusters (
             cluster_id text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             request_numbers text[] not null,
             detected_at timestamptz not null,
             area_ids text[] not null default '{}')"""
    )
    # The dead-letter topic as read by the sweep: where each record was and who gave up on it, never its value.
    op.execute(
        """create table selfheal.dead_letters (
             topic text not null,
             partition integer not null,
             "offset" bigint not null,
             consumer text not null,
             reason text not null,
             dead_lettered_at timestamptz not null,
             request_number text,
             jurisdiction_id text,
             seen_at timestamptz,
             primary key (topic, partition, "offset"))"""
    )
    op.execute(
        """create table selfheal.dead_letter_positions (
             topic text not null,
             partition integer not null,
             next_offset bigint not null,
             primary key (topic, partition))"""
    )
    # One row per action, its event id derived from the action (domain/decisions.py): the key that makes a repeated
    # or concurrent sweep do nothing twice. `state` is pending until the broker acknowledged the event.
    op.execute(
        """create table selfheal.actions (
             event_id uuid primary key,
             kind text not null,
             subject text not null,
             reason text not null,
             run_id uuid not null,
             event jsonb not null,
             state text not null default 'pending' check (state in ('pending', 'published')),
             created_at timestamptz not null,
             published_at timestamptz)"""
    )
    op.execute("create index actions_by_subject on selfheal.actions (subject, kind, created_at desc)")
    op.execute("create index actions_pending on selfheal.actions (created_at) where state = 'pending'")
    op.execute(
        """create table selfheal.runs (
             run_id uuid primary key,
             trigger text not null check (trigger in ('schedule', 'cron', 'admin', 'command')),
             staff_id text,
             started_at timestamptz not null,
             finished_at timestamptz,
             outcome text check (outcome in ('done', 'partial', 'failed')),
             found jsonb not null default '{}',
             done jsonb not null default '{}',
             errors jsonb not null default '[]')"""
    )
    op.execute("create index runs_latest on selfheal.runs (started_at desc)")


def downgrade() -> None:
    op.execute("drop schema selfheal cascade")
