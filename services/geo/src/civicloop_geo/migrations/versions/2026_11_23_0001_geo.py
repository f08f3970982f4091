"""service areas (versioned), the requests' places, the gazetteer, clusters, consumer inbox and positions

Revision ID: geo_0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op
from civicloop_events.consumer import consumer_tables_ddl

revision = "geo_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In public, beside PostGIS, so every search_path reaches them (a migration sets its own schema per transaction).
    op.execute("create extension if not exists pg_trgm with schema public")
    op.execute("create extension if not exists fuzzystrmatch with schema public")
    for ddl in consumer_tables_ddl("geo"):
        op.execute(ddl)

    # Every version of every area is kept: a boundary change adds a version, and an event that named an area names
    # its version, so history is never rewritten. Resolution uses the latest version of each area.
    op.execute(
        """create table geo.service_areas (
             jurisdiction_id text not null,
             area_id text not null,
             version integer not null,
             kind text not null,
             name text not null,
             geom geometry(MultiPolygon, 4326) not null,
             source text not null default '',
             defined_at timestamptz not null,
             event_id uuid not null unique,
             primary key (jurisdiction_id, area_id, version))"""
    )
    op.execute("create index service_areas_geom on geo.service_areas using gist (geom)")
    op.execute(
        """create view geo.current_service_areas as
             select distinct on (jurisdiction_id, area_id) *
             from geo.service_areas order by jurisdiction_id, area_id, version desc"""
    )

    # Categories and their groups, for "the same or a related category".
    op.execute(
        """create table geo.services (
             jurisdiction_id text not null,
             service_code text not null,
             service_group text not null default '',
             primary key (jurisdiction_id, service_code))"""
    )

    # One row per request with a place: what duplicates, clusters and the queries read.
    op.execute(
        """create table geo.requests (
             request_id text primary key,
             jurisdiction_id text not null,
             service_code text not null,
             status text not null default 'open',
             submitted_at timestamptz not null,
             geog geography(Point, 4326) not null,
             area_ids text[] not null default '{}',
             h3_cell text not null,
             merged_into text)"""
    )
    op.execute("create index requests_geog on geo.requests using gist (geog)")
    op.execute("create index requests_area_ids on geo.requests using gin (area_ids)")
    op.execute(
        """create index requests_open_by_category on geo.requests (jurisdiction_id, service_code, submitted_at)
             where status <> 'closed' and merged_into is null"""
    )

    # The gazetteer: address points, street centrelines and landmarks loaded from open data.
    _gazetteer_table(
        "address_points",
        """house_number integer,
             house_number_text text not null default '',
             predir text not null default '',
             street_name text not null,
             suffix text not null default '',
             unit text not null default '',
             postcode text not null default '',
             full_address text not null""",
        geometry="Point",
        trigram_index=("address_points_street_trgm", "street_name"),
    )
    op.execute(
        "create index address_points_street on geo.address_points (jurisdiction_id, street_name, house_number)"
    )
    _gazetteer_table(
        "street_centrelines",
        """predir text not null default '',
             street_name text not null,
             suffix text not null default '',
             from_number integer,
             to_number integer""",
        geometry="MultiLineString",
        trigram_index=("street_centrelines_trgm", "street_name"),
    )
    _gazetteer_table(
        "landmarks",
        """name text not null,
             kind text not null default ''""",
        geometry="Point",
        trigram_index=("landmarks_name_trgm", "name"),
    )

    # Clusters already announced, so a sweep announces a hot spot once, not every time it runs.
    op.execute(
        """create table geo.clusters (
             cluster_id uuid primary key,
             jurisdiction_id text not null,
             service_code text not null,
             centroid geography(Point, 4326) not null,
             request_ids text[] not null,
             detected_at timestamptz not null)"""
    )
    op.execute("create index clusters_centroid on geo.clusters using gist (centroid)")


def _gazetteer_table(table: str, columns: str, *, geometry: str, trigram_index: tuple[str, str]) -> None:
    """A gazetteer table: its own `columns` between the id and jurisdiction and the geometry and source, a GiST
    index on the geometry and a trigram index (name, column) for fuzzy matching."""
    op.execute(
        f"""create table geo.{table} (
             id bigserial primary key,
             jurisdiction_id text not null,
             {columns},
             geom geometry({geometry}, 4326) not null,
             source text not null default '')"""
    )
    op.execute(f"create index {table}_geom on geo.{table} using gist (geom)")
    name, column = trigram_index
    op.execute(f"create index {name} on geo.{table} using gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    for name in ("clusters", "landmarks", "street_centrelines", "address_points", "requests", "services"):
        op.execute(f"drop table if exists geo.{name}")
    op.execute("drop view if exists geo.current_service_areas")
    op.execute("drop table if exists geo.service_areas")
