"""geo on a read model of a million requests, on the real PostGIS: duplicate candidates, point-in-district, geocoding.

`geo.requests` is bulk-loaded with COPY (real LA 311 points, jittered, over two years, 85 % closed); the areas are
the real LA neighborhood councils folded through geo's own store, and the gazetteer the real LA addresses, loaded
with geo's own loader (generated stand-ins when ../shared/data is absent). Each figure is printed beside a ceiling
measured in the same run, on the same pool, at the same concurrency: a bare `select 1` round trip, the floor any
query pays here. The plans are printed too, to show the spatial indexes at work.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import psycopg
from civicloop_events import Actor, Event, ServiceAreaDefined
from civicloop_geo.adapters.area_store import PostgresAreaResolver, PostgresAreaStore
from civicloop_geo.adapters.gazetteer import PostgisGazetteer
from civicloop_geo.adapters.gazetteer_loader import load_address_csv
from civicloop_geo.adapters.request_places import DUPLICATE_QUERY, duplicate_query_params
from civicloop_geo.database import migrate
from civicloop_geo.domain.duplicates import NearbySearch
from civicloop_geo.settings import GeoSettings
from civicloop_runtime.db import open_pool
from civicloop_testing import shared_dir
from psycopg_pool import AsyncConnectionPool

from bench.harness import LoadResult, closed_loop, scratch_database

J = "bench"
CODES = [
    "bulky-items",
    "graffiti",
    "illegal-dumping",
    "appliances",
    "e-waste",
    "encampment",
    "dead-animal",
    "streetlight",
    "other",
]
WEIGHTS = [0.44, 0.29, 0.08, 0.07, 0.04, 0.03, 0.02, 0.02, 0.01]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def la_rows() -> list[dict[str, str]]:
    data = shared_dir()
    if data is None:
        return []
    with (data / "data" / "requests" / "la-311-2017-sample.csv").open(newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["Latitude"]]


def points(rows: list[dict[str, str]]) -> list[tuple[float, float]]:
    if rows:
        return [(float(r["Latitude"]), float(r["Longitude"])) for r in rows]
    rng = random.Random(7)
    return [(33.95 + rng.random() * 0.3, -118.45 + rng.random() * 0.3) for _ in range(5000)]


def grid_areas() -> list[ServiceAreaDefined]:
    areas = []
    for i in range(10):
        for k in range(10):
            x0, y0 = -118.45 + k * 0.03, 33.95 + i * 0.03
            ring = [[x0, y0], [x0 + 0.03, y0], [x0 + 0.03, y0 + 0.03], [x0, y0 + 0.03], [x0, y0]]
            areas.append(
                ServiceAreaDefined(
                    area_id=f"d-{i}-{k}",
                    name=f"District {i}-{k}",
                    kind="district",
                    geometry={"type": "Polygon", "coordinates": [ring]},
                )
            )
    return areas


def la_areas() -> list[ServiceAreaDefined]:
    data = shared_dir()
    if data is None:
        return grid_areas()
    doc = json.loads((data / "data" / "boundaries" / "la-neighborhood-councils-2019.geojson").read_text())
    return [
        ServiceAreaDefined(
            area_id=f"nc-{f['properties']['nc_id']}",
            name=f["properties"]["name"],
            kind="neighborhood_council",
            geometry=f["geometry"],
        )
        for f in doc["features"]
    ]


def load_requests(dsn: str, count: int, pts: list[tuple[float, float]]) -> float:
    rng = random.Random(311)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "copy geo.requests (request_id, jurisdiction_id, service_code, status, submitted_at, geog,"
            " area_ids, h3_cell) from stdin"
        ) as copy:
            for i in range(count):
                lat, long = rng.choice(pts)
                lat, long = lat + rng.uniform(-0.002, 0.002), long + rng.uniform(-0.002, 0.002)
                at = NOW - timedelta(seconds=rng.uniform(0, 730 * 86400))
                copy.write_row(
                    (
                        f"B{i:09d}",
                        J,
                        rng.choices(CODES, WEIGHTS)[0],
                        "closed" if rng.random() < 0.85 else "open",
                        at,
                        f"SRID=4326;POINT({long} {lat})",
                        [],
                        h3.latlng_to_cell(lat, long, 9),
                    )
                )
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum analyze geo.requests")
    return time.perf_counter() - started


def duplicate_params(rng: random.Random, pts: list[tuple[float, float]]) -> dict[str, Any]:
    lat, long = rng.choice(pts)
    at = NOW - timedelta(seconds=rng.uniform(0, 730 * 86400))
    return duplicate_query_params(
        NearbySearch(
            J,
            lat,
            long,
            service_codes=(rng.choices(CODES, WEIGHTS)[0],),
            radius_m=500.0,
            since=at - timedelta(days=30),
            until=at + timedelta(days=30),
            limit=20,
        )
    )


async def explain(pool: AsyncConnectionPool, sql: str, params: dict[str, Any]) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute("explain (analyze, buffers) " + sql, params)
        return [row[0] for row in await cur.fetchall()]


def ratio(result: LoadResult, ceiling: LoadResult) -> str:
    return (
        f"   -> {100 * result.throughput / ceiling.throughput:.1f} % of the ceiling's throughput, "
        f"p99 {result.p(99) / ceiling.p(99):.1f}x the ceiling's"
    )


async def run(*, rows: int, concurrency: int, seconds: float) -> list[str]:
    out: list[str] = []
    la = la_rows()
    pts = points(la)
    with scratch_database("cl_bench_geo") as dsn:
        migrate(GeoSettings(pg_dsn=dsn).sqlalchemy_url)
        loaded_s = await asyncio.to_thread(load_requests, dsn, rows, pts)
        out.append(f"geo.requests: {rows:,} rows (COPY + VACUUM ANALYZE {loaded_s:.1f} s)")
        pool = await open_pool(dsn, min_size=concurrency, max_size=concurrency, name="bench-geo")
        try:
            areas = la_areas()
            async with pool.connection() as conn, conn.transaction():
                store = PostgresAreaStore()
                for area in areas:
                    await store.define(
                        conn,
                        Event.create(
                            area,
                            request_id=None,
                            jurisdiction_id=J,
                            actor=Actor(kind="system", id="bench"),
                            source="bench",
                        ),
                    )
                await conn.execute("analyze geo.service_areas")
            out.append(
                f"service areas: {len(areas)} ({'LA neighborhood councils' if la else 'generated grid'})"
            )

            async def noop(_: int) -> bool:
                async with pool.connection() as conn:
                    await conn.execute("select 1")
                return True

            ceiling = await closed_loop(
                "select 1 round trip (ceiling)", noop, concurrency=concurrency, seconds=seconds
            )
            out.append(ceiling.line())

            rng = random.Random(5)

            async def duplicates(_: int) -> bool:
                async with pool.connection() as conn:
                    await conn.execute(DUPLICATE_QUERY, duplicate_params(rng, pts))
                return True

            dup = await closed_loop(
                "duplicate candidates (500 m, +-30 d, open)",
                duplicates,
                concurrency=concurrency,
                seconds=seconds,
            )
            out += [dup.line(), ratio(dup, ceiling)]
            out.append("   plan:")
            out += [
                "     " + line for line in await explain(pool, DUPLICATE_QUERY, duplicate_params(rng, pts))
            ]

            resolver = PostgresAreaResolver(pool)

            async def resolve(_: int) -> bool:
                lat, long = rng.choice(pts)
                await resolver.locate(J, lat, long)
                return True

            one = await closed_loop(
                "point -> district (one point per call)", resolve, concurrency=concurrency, seconds=seconds
            )
            out += [one.line(), ratio(one, ceiling)]
            batch = [rng.choice(pts) for _ in range(10_000)]
            t0 = time.perf_counter()
            resolved = await resolver.resolve_many(J, batch)
            bulk_s = time.perf_counter() - t0
            inside = sum(1 for r in resolved if r.inside)
            out.append(
                f"point -> district, bulk: {len(batch):,} points in {bulk_s * 1000:.0f} ms "
                f"= {len(batch) / bulk_s:,.0f} points/s ({inside:,} inside)"
            )

            out += await geocoding(pool, la, rng, concurrency=concurrency, seconds=seconds, ceiling=ceiling)
        finally:
            await pool.close()
    return out


async def geocoding(
    pool: AsyncConnectionPool,
    la: list[dict[str, str]],
    rng: random.Random,
    *,
    concurrency: int,
    seconds: float,
    ceiling: LoadResult,
) -> list[str]:
    """The gazetteer: 70 % of the LA addresses loaded, the other 30 % geocoded (held out), then reverse."""
    out: list[str] = []
    data = shared_dir()
    if data is None or not la:
        return ["geocoding: skipped (no ../shared/data: the LA address set is the benchmark's input)"]
    sample = data / "data" / "requests" / "la-311-2017-sample.csv"
    report = await load_address_csv(pool, J, sample, keep=lambda i: i % 10 < 7)
    with sample.open(newline="") as fh:
        every = [r["Address"].strip() for r in csv.DictReader(fh)]
    loaded = {a for i, a in enumerate(every) if i % 10 < 7}
    held_out = sorted({a for i, a in enumerate(every) if i % 10 >= 7 and a and a not in loaded})
    out.append(
        f"gazetteer: {report.loaded:,} address points loaded, {len(held_out):,} held-out addresses to geocode"
    )
    gazetteer = PostgisGazetteer(pool)
    matched = 0

    async def geocode(_: int) -> bool:
        nonlocal matched
        results = await gazetteer.geocode(J, rng.choice(held_out), limit=1)
        matched += bool(results and results[0].confidence >= 0.5)
        return True

    fwd = await closed_loop(
        "geocode an address (gazetteer)", geocode, concurrency=concurrency, seconds=seconds
    )
    out += [
        fwd.line(),
        ratio(fwd, ceiling),
        f"   ({100 * matched / max(1, fwd.requests):.1f} % matched at >= 0.5)",
    ]
    pts = [(float(r["Latitude"]), float(r["Longitude"])) for r in la]

    async def reverse(_: int) -> bool:
        lat, long = rng.choice(pts)
        await gazetteer.reverse(J, lat + rng.uniform(-2e-4, 2e-4), long + rng.uniform(-2e-4, 2e-4))
        return True

    rev = await closed_loop(
        "reverse geocode a point (gazetteer)", reverse, concurrency=concurrency, seconds=seconds
    )
    out += [rev.line(), ratio(rev, ceiling)]
    return out


if __name__ == "__main__":
    for line in asyncio.run(run(rows=100_000, concurrency=8, seconds=5)):
        print(line)
