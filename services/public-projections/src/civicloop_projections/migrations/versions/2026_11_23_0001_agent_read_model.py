"""agent read model, catalogue view, consumer inbox and positions

Revision ID: projections_0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op
from civicloop_events.consumer import consumer_tables_ddl

revision = "projections_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for ddl in consumer_tables_ddl("projections"):
        op.execute(ddl)

    op.execute(
        """create table projections.services (
             jurisdiction_id text not null,
             service_code text not null,
             service_name text not null,
             description text not null,
             service_group text not null,
             keywords text[] not null,
             type text not null,
             attributes jsonb not null,
             active boolean not null,
             defined_at timestamptz not null,
             last_event_id uuid not null,
             primary key (jurisdiction_id, service_code))"""
    )
    op.execute(
        """create table projections.service_areas (
             jurisdiction_id text not null,
             area_id text not null,
             version integer not null,
             name text not null,
             kind text not null,
             geometry geometry(MultiPolygon, 4326) not null,
             source text not null,
             defined_at timestamptz not null,
             event_id uuid not null unique,
             is_current boolean not null,
             primary key (jurisdiction_id, area_id, version))"""
    )
    op.execute(
        "create index service_areas_current_geometry on projections.service_areas using gist (geometry)"
        " where is_current"
    )
    op.execute(
        "create unique index service_areas_one_current on projections.service_areas (jurisdiction_id, area_id)"
        " where is_current"
    )
    # One rule for "the area of a point", used on every write so the order in which the request and catalogue
    # consumers run never changes the result: the smallest current area that covers the point, then by id.
    op.execute(
        """create function projections.covering_area(jurisdiction text, point geography) returns text
           language sql stable as $$
             select a.area_id from projections.service_areas a
              where a.is_current and a.jurisdiction_id = jurisdiction and point is not null
                and ST_Covers(a.geometry, point::geometry)
              order by ST_Area(a.geometry), a.area_id
              limit 1
           $$"""
    )

    op.execute(
        """create table projections.agent_requests (
             request_number text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             service_name text,
             description text not null,
             status text not null,
             external_status_code text,
             address_string text,
             address_id text,
             location geography(Point, 4326),
             service_area_id text,
             attributes jsonb not null,
             media_urls text[] not null,
             preferred_channel text not null,
             source text not null,
             resident_id uuid,
             submitted_at timestamptz not null,
             updated_at timestamptz not null,
             closed_at timestamptz,
             event_count integer not null,
             last_event_id uuid not null)"""
    )
    op.execute("create index agent_requests_location on projections.agent_requests using gist (location)")
    # Bounding boxes are planar (lines of latitude, not great circles): they filter on the geometry cast.
    op.execute(
        "create index agent_requests_location_planar on projections.agent_requests using gist ((location::geometry))"
    )
    # Each filter leads an index that continues in the page order (updated_at desc, request_number).
    op.execute(
        "create index agent_requests_page on projections.agent_requests (updated_at desc, request_number)"
    )
    for column in ("status", "service_code", "service_area_id", "jurisdiction_id"):
        op.execute(
            f"create index agent_requests_{column}_page on projections.agent_requests"
            f" ({column}, updated_at desc, request_number)"
        )

    op.execute(
        """create table projections.agent_request_history (
             event_id uuid primary key,
             request_number text not null,
             jurisdiction_id text not null,
             partition integer not null,
             kafka_offset bigint not null,
             type text not null,
             schema_version integer not null,
             occurred_at timestamptz not null,
             recorded_at timestamptz not null,
             actor_kind text not null,
             actor_id text,
             source text not null,
             causation_id uuid,
             correlation_id uuid,
             summary jsonb not null)"""
    )
    op.execute(
        "create index agent_request_history_log_order on projections.agent_request_history"
        " (request_number, partition, kafka_offset)"
    )


def downgrade() -> None:
    op.execute("drop table projections.agent_request_history")
    op.execute("drop table projections.agent_requests")
    op.execute("drop function projections.covering_area(text, geography)")
    op.execute("drop table projections.service_areas")
    op.execute("drop table projections.services")
    op.execute("drop table projections.consumer_positions")
    op.execute("drop table projections.inbox")
