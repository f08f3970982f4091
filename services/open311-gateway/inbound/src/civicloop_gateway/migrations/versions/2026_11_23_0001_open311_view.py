"""the Open311 view: jurisdictions, services, partners, requests, request updates; consumer inbox and positions

Revision ID: gateway_0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op
from civicloop_events.consumer import consumer_tables_ddl

revision = "gateway_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for ddl in consumer_tables_ddl("gateway"):
        op.execute(ddl)

    # A jurisdiction exists for the gateway once a service of its catalogue was defined; `changeset` is the time of
    # its latest catalogue change (discovery's changeset, DS-03).
    op.execute(
        """create table gateway.jurisdictions (
             jurisdiction_id text primary key,
             changeset timestamptz not null,
             first_seen_at timestamptz not null)"""
    )
    op.execute(
        """create table gateway.services (
             jurisdiction_id text not null,
             service_code text not null,
             service_name text not null,
             description text not null,
             metadata boolean not null,
             type text not null check (type in ('realtime', 'batch', 'blackbox')),
             keywords text not null,
             service_group text not null,
             attributes jsonb not null,
             active boolean not null,
             changeset timestamptz not null,
             last_event_id uuid not null,
             primary key (jurisdiction_id, service_code))"""
    )
    # One row per (client, key): a rotated key is a new row, a revoked one keeps its row with `revoked_at`.
    op.execute(
        """create table gateway.partners (
             jurisdiction_id text not null,
             client_id text not null,
             name text not null,
             key_id text not null,
             key_sha256 text not null,
             authorised_at timestamptz not null,
             revoked_at timestamptz,
             last_event_id uuid not null,
             primary key (jurisdiction_id, client_id, key_id))"""
    )
    op.execute("create index partners_by_key on gateway.partners (key_sha256) where revoked_at is null")

    # The Open311 request object (CHECKLIST §2.7), ready to serve; no personal data by construction.
    op.execute(
        """create table gateway.requests (
             service_request_id text primary key,
             jurisdiction_id text not null,
             status text not null check (status in ('open', 'closed')),
             civicloop_status text not null,
             status_notes text,
             service_name text,
             service_code text not null,
             description text not null,
             agency_responsible text,
             service_notice text,
             requested_datetime timestamptz not null,
             updated_datetime timestamptz not null,
             expected_datetime timestamptz,
             address text,
             address_id text,
             zipcode text,
             lat double precision,
             long double precision,
             location geography(Point, 4326),
             media_url text,
             media_urls text[] not null,
             source text not null,
             last_event_id uuid not null,
             check ((lat is null) = (long is null) and (lat is null) = (location is null)))"""
    )
    # Every list query is scoped to a jurisdiction and ordered by (requested_datetime desc, service_request_id)
    # or, for updated_after/updated_before, (updated_datetime, service_request_id): each filter's index leads with
    # the jurisdiction and continues in a sort order, so a window of a few days in millions of rows is a range scan.
    op.execute(
        "create index requests_window on gateway.requests"
        " (jurisdiction_id, requested_datetime desc, service_request_id)"
    )
    op.execute(
        "create index requests_updated on gateway.requests (jurisdiction_id, updated_datetime, service_request_id)"
    )
    op.execute(
        "create index requests_service_code on gateway.requests"
        " (jurisdiction_id, service_code, requested_datetime desc, service_request_id)"
    )
    op.execute(
        "create index requests_status on gateway.requests"
        " (jurisdiction_id, status, requested_datetime desc, service_request_id)"
    )
    op.execute("create index requests_location on gateway.requests using gist (location)")

    # servicerequestupdates (FX-01): one row per status change or PUBLIC comment; `update_id` is the event id.
    op.execute(
        """create table gateway.request_updates (
             update_id uuid primary key,
             service_request_id text not null,
             jurisdiction_id text not null,
             status text not null,
             updated_datetime timestamptz not null,
             description text not null,
             media_url text,
             external_status_code text)"""
    )
    op.execute(
        "create index request_updates_window on gateway.request_updates"
        " (jurisdiction_id, updated_datetime, update_id)"
    )
    op.execute(
        "create index request_updates_request on gateway.request_updates (service_request_id, updated_datetime)"
    )


def downgrade() -> None:
    for table in (
        "request_updates",
        "requests",
        "partners",
        "services",
        "jurisdictions",
        "consumer_positions",
        "inbox",
    ):
        op.execute(f"drop table gateway.{table}")
