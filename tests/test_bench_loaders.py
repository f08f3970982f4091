"""The benchmarks bulk-load read models with COPY, beside the services' own writes: these checks keep the loaders in
step with the migrations (a schema change that breaks a loader fails here, not in the middle of `make bench`)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_geo.adapters.request_places import duplicate_query_params
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.domain.duplicates import NearbySearch
from civicloop_places import block_address, public_place
from civicloop_runtime.settings import ServiceSettings

from bench import geo as geo_bench
from bench import open311_gateway as gateway_bench

pytestmark = pytest.mark.integration


def sqlalchemy_url(dsn: str) -> str:
    return ServiceSettings(pg_dsn=dsn).sqlalchemy_url


def test_the_open311_loader_writes_public_places_only(fresh_database_dsn: str) -> None:
    migrate_gateway(sqlalchemy_url(fresh_database_dsn))
    gateway_bench.load_requests(fresh_database_dsn, 200)
    with psycopg.connect(fresh_database_dsn) as conn:
        rows = conn.execute(
            "select lat, long, h3_cell, h3_resolution, address from gateway.requests"
        ).fetchall()
    assert len(rows) == 200
    for lat, long, cell, resolution, address in rows:
        shown = public_place(lat, long, resolution=resolution)
        assert (shown.lat, shown.long, shown.h3_cell) == (lat, long, cell), (
            "a cell centre, as the fold stores"
        )
        # A block, or a text that names no home (an intersection), which block_address keeps as it is.
        assert address is None or " block of " in address or block_address(address) == address, address


def test_the_geo_loader_fills_the_duplicate_query(fresh_database_dsn: str) -> None:
    migrate_geo(sqlalchemy_url(fresh_database_dsn))
    geo_bench.load_requests(fresh_database_dsn, 500, geo_bench.points(geo_bench.la_rows()))
    with psycopg.connect(fresh_database_dsn) as conn:
        (count,) = conn.execute("select count(*) from geo.requests").fetchone()
        request_id, code, lat, long, at = conn.execute(
            """select request_id, service_code, ST_Y(geog::geometry), ST_X(geog::geometry), submitted_at
                 from geo.requests where status <> 'closed' order by request_id limit 1"""
        ).fetchone()
        found = conn.execute(
            geo_bench.DUPLICATE_QUERY,
            duplicate_query_params(
                NearbySearch(
                    geo_bench.J,
                    lat,
                    long,
                    service_codes=(code,),
                    radius_m=10.0,
                    since=at - timedelta(days=1),
                    until=at + timedelta(days=1),
                    limit=20,
                )
            ),
        ).fetchall()
    assert count == 500
    assert request_id in [row[0] for row in found], "an open request is its own nearest candidate"
