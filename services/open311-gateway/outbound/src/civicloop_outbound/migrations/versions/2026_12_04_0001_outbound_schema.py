"""outbound's own schema: the tables of sending and of the Open311 client, and the consumers' inbox and positions

Until now these tables lived in schema `gateway` (gateway_0003, gateway_0004), written by consumers that kept their
inbox rows and positions in `gateway.inbox` / `gateway.consumer_positions`. Where they exist, this migration moves
the tables (ALTER TABLE ... SET SCHEMA: rows, indexes, constraints and the queue's sequence go with them) and carries
the outbound consumers' inbox rows and stored positions over, so that each consumer resumes at the offset it had
reached and skips the events it had applied: nothing is dispatched or sent twice. On a fresh database it creates the
same tables. Run after the gateway's migrations (`make migrate` does), so that the gateway's history is complete
before its tables leave it.

Revision ID: outbound_0001
Revises:
Create Date: 2026-12-04
"""

from alembic import op
from civicloop_events.consumer import consumer_tables_ddl
from sqlalchemy import text

revision = "outbound_0001"
down_revision = None
branch_labels = None
depends_on = None

# Every table the outbound service writes, in the order the gateway created them.
TABLES = (
    "bodies",
    "routing_rules",
    "outbound_areas",
    "outbound_imported",
    "outbound_queue",
    "external_refs",
    "backend_updates_seen",
    "backend_poll_state",
    "open311_tokens",
    "backend_imports",
)
# The outbound consumers as they were named inside the gateway (the names are kept). A consumer's stored name is its
# group: a topic prefix (tests, shared clusters), then one of these.
CONSUMERS = ("gateway.outbound-config.v1", "gateway.outbound-dispatch.v1", "gateway.open311-refs.v1")
CONSUMER_TABLES = {
    "inbox": "consumer, event_id, topic, partition, kafka_offset, applied_at",
    "consumer_positions": "consumer, topic, partition, next_offset, updated_at",
}


def upgrade() -> None:
    for ddl in consumer_tables_ddl("outbound"):
        op.execute(ddl)
    # The outbound service's own copy of the catalogue it reads (a service's name in emails, its multivaluelist
    # attributes in Open311 POSTs), folded from ServiceDefined by the config fold; it read `gateway.services` before.
    op.execute(
        """create table outbound.services (
             jurisdiction_id text not null,
             service_code text not null,
             service_name text not null,
             attributes jsonb not null default '[]',
             last_event_id uuid not null,
             primary key (jurisdiction_id, service_code))"""
    )
    if op.get_bind().execute(text("select to_regclass('gateway.outbound_queue')")).scalar() is not None:
        _move_from_gateway()
    else:
        _create_tables()


def _move_from_gateway() -> None:
    for table in TABLES:
        op.execute(f"alter table gateway.{table} set schema outbound")
    ours = " or ".join(f"right(consumer, {len(name)}) = '{name}'" for name in CONSUMERS)
    for table, columns in CONSUMER_TABLES.items():
        op.execute(
            f"insert into outbound.{table} ({columns}) select {columns} from gateway.{table} where {ours}"
        )
        op.execute(f"delete from gateway.{table} where {ours}")
    # The config fold has passed the ServiceDefined events already: start from the gateway's catalogue.
    op.execute(
        "insert into outbound.services (jurisdiction_id, service_code, service_name, attributes, last_event_id)"
        " select jurisdiction_id, service_code, service_name, attributes, last_event_id from gateway.services"
    )


def _create_tables() -> None:
    # The bodies a jurisdiction sends reports to, folded from BodyDefined / BodyPaused / BodyResumed.
    # `definition` is the BodyDefined payload as last defined (connection details hold secret refs, never secrets).
    op.execute(
        """create table outbound.bodies (
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
        """create table outbound.routing_rules (
             jurisdiction_id text not null,
             position integer not null,
             name text not null,
             rule jsonb not null,
             last_event_id uuid not null,
             primary key (jurisdiction_id, position))"""
    )
    # Service areas (ServiceAreaDefined), so routing rules can match on the area a request lies in.
    op.execute(
        """create table outbound.outbound_areas (
             jurisdiction_id text not null,
             area_id text not null,
             geometry geometry(Geometry, 4326) not null,
             last_event_id uuid not null,
             primary key (jurisdiction_id, area_id))"""
    )
    op.execute("create index outbound_areas_geometry on outbound.outbound_areas using gist (geometry)")
    # Requests that came from a back-end (RequestImported): never sent back to one.
    op.execute(
        """create table outbound.outbound_imported (
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
        """create table outbound.outbound_queue (
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
        "create index outbound_queue_heads on outbound.outbound_queue (jurisdiction_id, body_id, seq)"
        " where state = 'queued'"
    )
    op.execute(
        "create index outbound_queue_by_body on outbound.outbound_queue (jurisdiction_id, body_id, state)"
    )
    # The back-end's id of each request sent to it or imported from it, folded from ExternalReferenceAssigned (and
    # written directly by whoever publishes one), so an update or an imported row finds its request.
    # `last_status` is the CivicLoop status the back-end last put the request in (None: not heard yet).
    op.execute(
        """create table outbound.external_refs (
             jurisdiction_id text not null,
             body_id text not null,
             external_id text not null,
             request_id text not null,
             last_status text,
             assigned_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, external_id))"""
    )
    op.execute("create index external_refs_by_request on outbound.external_refs (request_id)")
    # Updates already turned into events: servicerequestupdates' update_id, or for GET requests a synthesised one
    # (external id, updated_datetime, status).
    op.execute(
        """create table outbound.backend_updates_seen (
             jurisdiction_id text not null,
             body_id text not null,
             update_id text not null,
             external_id text not null,
             seen_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, update_id))"""
    )
    # Where each poll of each body stands (`kind`: updates, mopup, import), so a restart resumes where it stopped.
    op.execute(
        """create table outbound.backend_poll_state (
             jurisdiction_id text not null,
             body_id text not null,
             kind text not null check (kind in ('updates', 'mopup', 'import')),
             window_end timestamptz not null,
             polled_at timestamptz not null default now(),
             last_error text,
             primary key (jurisdiction_id, body_id, kind))"""
    )
    # Batch tokens (PR-12) waiting for the back-end's id, polled with back-off until resolved or given up.
    op.execute(
        """create table outbound.open311_tokens (
             jurisdiction_id text not null,
             body_id text not null,
             token text not null,
             request_id text not null,
             attempts integer not null default 0,
             next_poll_at timestamptz not null default now(),
             state text not null default 'pending' check (state in ('pending', 'resolved', 'given_up')),
             external_id text,
             last_error text,
             created_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, token))"""
    )
    op.execute(
        "create index open311_tokens_due on outbound.open311_tokens (next_poll_at) where state = 'pending'"
    )
    # Requests brought in from a back-end: never imported twice.
    op.execute(
        """create table outbound.backend_imports (
             jurisdiction_id text not null,
             body_id text not null,
             external_id text not null,
             request_id text,
             outcome text not null check (outcome in ('imported', 'skipped')),
             reason text not null default '',
             decided_at timestamptz not null default now(),
             primary key (jurisdiction_id, body_id, external_id))"""
    )


def downgrade() -> None:
    for table in (*reversed(TABLES), "services", "consumer_positions", "inbox"):
        op.execute(f"drop table if exists outbound.{table}")
