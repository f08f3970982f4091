"""gazetteer: post-directions, a street-name index for fuzzy matching, lookup indexes for centrelines and landmarks

Revision ID: geo_0002
Revises: geo_0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "geo_0002"
down_revision = "geo_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "123 E ST NW": quadrant cities put the direction after the suffix, and it tells two streets apart.
    for table in ("address_points", "street_centrelines"):
        op.execute(f"alter table geo.{table} add column postdir text not null default ''")

    # One row per distinct street of a jurisdiction (written by the loader): fuzzy matching searches thousands of
    # street names, not millions of address points.
    op.execute(
        """create table geo.gazetteer_streets (
             jurisdiction_id text not null,
             street_name text not null,
             predir text not null default '',
             suffix text not null default '',
             postdir text not null default '',
             name_metaphone text not null default '',
             address_points integer not null default 0,
             centrelines integer not null default 0,
             primary key (jurisdiction_id, street_name, predir, suffix, postdir))"""
    )
    # GiST, not GIN: it orders by trigram distance (KNN `<->`), so the nearest names come from the index with no
    # similarity threshold to tune, and the planner uses it even while the table is small.
    op.execute(
        "create index gazetteer_streets_trgm on geo.gazetteer_streets using gist (street_name gist_trgm_ops)"
    )
    op.execute(
        "create index gazetteer_streets_metaphone on geo.gazetteer_streets (name_metaphone, jurisdiction_id)"
    )

    # Where each zip code's addresses are (centre, and the radius holding 90% of them): a street piece far from the
    # zip the resident gave is the wrong piece of a long or repeated street name.
    op.execute(
        """create table geo.gazetteer_postcodes (
             jurisdiction_id text not null,
             postcode text not null,
             centre geometry(Point, 4326) not null,
             radius_m double precision not null,
             address_points integer not null,
             primary key (jurisdiction_id, postcode))"""
    )

    op.execute(
        "create index street_centrelines_street on geo.street_centrelines (jurisdiction_id, street_name)"
    )
    op.execute("create index landmarks_kind on geo.landmarks (lower(kind), jurisdiction_id)")
    # A reload replaces the rows of its source.
    op.execute("create index address_points_source on geo.address_points (jurisdiction_id, source)")


def downgrade() -> None:
    op.execute("drop index if exists geo.address_points_source")
    op.execute("drop index if exists geo.landmarks_kind")
    op.execute("drop index if exists geo.street_centrelines_street")
    op.execute("drop table if exists geo.gazetteer_postcodes")
    op.execute("drop table if exists geo.gazetteer_streets")
    for table in ("address_points", "street_centrelines"):
        op.execute(f"alter table geo.{table} drop column if exists postdir")
