"""outbound dispatch: bodies, routing, the send queue

Revision ID: gateway_0003
Revises: gateway_0002
Create Date: 2026-11-23
"""

from alembic import op
from civicloop_gateway.migrations.outbound_moved import drop_tables, outbound_has_them

revision = "gateway_0003"
down_revision = "gateway_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if outbound_has_them():
        return
    # The bodies a jurisdiction sends reports to, folded from BodyDefined / BodyPaused / BodyResumed.
    # `definition` is the BodyDefined payload as last defined (connection details hold secret refs, never secrets).
    op.execute(
        """create table gateway.bodies (
             jurisdiction_id text not null,
             body_id text not null,
             name text not null,
             send_method text not null check (send_method in ('email', 'open311', 'webhook')),
             service_codes text[] not null,
             definition jsonb not null,
             paused boolean not null default false,
             paused_reason text not null default '',
             paused_at timestamptz,
             defined_at timestamptz not null,
             last_event_id uuid not null,
             primary key (jurisdiction_id, body_id))"""
    )
    # RoutingRulesDefined replaces a jurisdiction's rules as a whole; `position` is the order they apply in.
    op.execute(
        """create table gateway.routing_rules (
             jurisdiction_id text not null,
             position integer not null,
             name text not null,
             rule jsonb not null,
             last_event_id uuid not null,
             primary key (jurisdiction_id, position))"""
    )
    # Service areas (ServiceAreaDefined), so routing rules can match on the area a request lies in.
    op.execute(
        """create table gateway.outbound_areas (
             jurisdiction_id text not null,
             area_id text not null,
             geometry geometry(Geometry, 4326) not null,
             last_event_id uuid not null,
             primary key (jurisdiction_id, area_id))"""
    )
    op.execute("create index outbound_areas_geometry on gateway.outbound_areas using gist (geometry)")
    # Requests that came from a back-end (RequestImported): never sent back to one.
    op.execute(
        """create table gateway.outbound_imported (
             request_id text primary key,
             body_id text not null,
             external_id text not null,
             seen_at timestamptz not null default now())"""
    )
    # The outbox: one row per (request, body, purpose), written in the dispatcher's inbox transaction and sent by
    # `outbound run` in `seq` order per body. `state`: queued (waiting or retrying), sent, failed (given up).
    # `payload` is what the sender needs; contact details stay sealed in it and are unsealed only at send time,
    # only when `outbound_include_contact` allows.
    op.execute(
        """create table gateway.outbound_queue (
             seq bigserial primary key,
             request_id text not null,
             jurisdiction_id text not null,
             body_id text not null,
             method text not null check (method in ('email', 'open311', 'webhook')),
             purpose text not null default 'deliver' check (purpose in ('deliver', 'priority_copy')),
             payload jsonb not null,
             state text not null default 'queued' check (state in ('queued', 'sent', 'failed')),
             attempts integer not null default 0,
             next_attempt_at timestamptz not null default now(),
             last_error text,
             external_id text,
             enqueued_at timestamptz not null default now(),
             sent_at timestamptz,
             causation_id uuid not null,
             correlation_id uuid,
             constraint outbound_queue_once unique (request_id, body_id, purpose),
             constraint sent_has_time check ((state = 'sent') = (sent_at is not null)))"""
    )
    op.execute(
        "create index outbound_queue_heads on gateway.outbound_queue (jurisdiction_id, body_id, seq)"
        " where state = 'queued'"
    )
    op.execute(
        "create index outbound_queue_by_body on gateway.outbound_queue (jurisdiction_id, body_id, state)"
    )


def downgrade() -> None:
    drop_tables("outbound_queue", "outbound_imported", "outbound_areas", "routing_rules", "bodies")
