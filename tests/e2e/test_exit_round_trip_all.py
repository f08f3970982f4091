"""The exit for every read model with a rebuild, on the real broker and PostGIS: a log (configuration and geo's
seeded request streams: submissions, geo's placements and decisions, status changes, merges, corrections) built into
the projections, the Open311 view and geo by their rebuilds; exported with `civicloop_runtime.exit_archive`; loaded
into a fresh CivicLoop (topics and a database of its own); rebuilt there: every read model's content hash is equal."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from civicloop_events import ServiceAreaDefined, ServiceDefined
from civicloop_events.topics import Topics
from civicloop_gateway.adapters import view_tables
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_gateway.entrypoints.rebuild import rebuild as rebuild_gateway
from civicloop_gateway.settings import GatewaySettings
from civicloop_geo.bootstrap import bootstrap as bootstrap_geo
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.entrypoints.rebuild import content_hash as geo_hash
from civicloop_geo.entrypoints.rebuild import rebuild as rebuild_geo
from civicloop_geo.settings import GeoSettings
from civicloop_projections.adapters import tables as projection_tables
from civicloop_projections.bootstrap import bootstrap as bootstrap_projections
from civicloop_projections.entrypoints.rebuild import rebuild as rebuild_projections
from civicloop_runtime.content_hash import ReadModelHash
from civicloop_runtime.exit_archive import export, load
from civicloop_runtime.service_commands import without_consumers
from civicloop_runtime.settings import Environment
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import config_event, publish_events
from e2e_world import migrated_projections, shared_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "geo" / "tests" / "unit"))
from geo_event_streams import GROUPS, LAT, LONG, event_stream

pytestmark = pytest.mark.integration

J = "exit-city"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # the hash of no rows


def box(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


async def publish_world(kafka_bootstrap: str, topics: Topics) -> int:
    configuration = [
        ServiceAreaDefined(
            area_id="ward-1",
            name="Ward 1",
            kind="ward",
            geometry=box(LAT - 0.02, LONG - 0.02, LAT, LONG + 0.02),
        ),
        ServiceAreaDefined(
            area_id="ward-2",
            name="Ward 2",
            kind="ward",
            geometry=box(LAT, LONG - 0.02, LAT + 0.02, LONG + 0.02),
        ),
        *(ServiceDefined(service_code=c, service_name=c, group=g) for c, g in GROUPS.items()),
    ]
    await publish_events(
        kafka_bootstrap,
        topics.jurisdiction_config,
        [config_event(p, jurisdiction_id=J) for p in configuration],
    )
    events = event_stream(5, J, requests=40, length=200)
    await publish_events(kafka_bootstrap, topics.request_events, events)
    return len(configuration) + len(events)


def migrated(dsn: str, topics: Topics, kafka_bootstrap: str) -> dict[str, Any]:
    common = shared_settings(dsn, topics, kafka_bootstrap)
    geo = GeoSettings(**common)
    migrate_geo(geo.sqlalchemy_url)
    gateway = GatewaySettings(env=Environment.test, **common)
    migrate_gateway(gateway.sqlalchemy_url)
    return {"projections": migrated_projections(dsn, topics, kafka_bootstrap), "geo": geo, "gateway": gateway}


async def rebuilt_hashes(settings: dict[str, Any]) -> dict[str, ReadModelHash]:
    """Every read model rebuilt from the log, and its content hash."""
    out: dict[str, ReadModelHash] = {}
    p = settings["projections"]
    async with without_consumers(
        bootstrap_projections, p, topic=p.topics.dead_letters, client_id="exit-test"
    ) as projections:
        await rebuild_projections(projections)
        async with projections.pool.connection() as conn:
            out["projections"] = await projection_tables.content_hash(conn)
    g = settings["geo"]
    async with without_consumers(bootstrap_geo, g, topic=g.topics.dead_letters, client_id="exit-test") as geo:
        await rebuild_geo(geo)
        async with geo.pool.connection() as conn:
            out["geo"] = await geo_hash(conn)
    await rebuild_gateway(settings["gateway"])
    async with await psycopg.AsyncConnection.connect(settings["gateway"].pg_dsn, autocommit=True) as conn:
        out["gateway"] = await view_tables.content_hash(conn)
    return out


@pytest.fixture
def second_dsn(pg_admin_dsn):
    dsn = create_database(pg_admin_dsn)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


async def test_every_read_model_rebuilt_from_an_archives_log_has_equal_hashes(
    fresh_database_dsn, second_dsn, fresh_topics, kafka_bootstrap, tmp_path
):
    published = await publish_world(kafka_bootstrap, fresh_topics)
    original = await rebuilt_hashes(migrated(fresh_database_dsn, fresh_topics, kafka_bootstrap))
    assert all(any(h != EMPTY for h in model.tables.values()) for model in original.values())

    archive = tmp_path / "archive"
    exported = await export(archive, bootstrap=kafka_bootstrap, topics=fresh_topics, dsn=fresh_database_dsn)
    assert exported.records == published
    assert {"projections", "geo", "gateway"} <= {p.name for p in (archive / "read-models").iterdir()}
    assert (archive / "read-models" / "geo" / "requests.geojson").exists()

    fresh = await make_topics(kafka_bootstrap, partitions=fresh_topics.partitions)
    assert await load(archive, bootstrap=kafka_bootstrap, topics=fresh) == published
    again = await rebuilt_hashes(migrated(second_dsn, fresh, kafka_bootstrap))
    assert again == original

    # `civicloop-geo rebuild` prints the same hash (the projections' and the gateway's commands are checked in their
    # own rebuild tests).
    env = {
        **os.environ,
        "CIVICLOOP_PG_DSN": second_dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_TOPIC_PREFIX": fresh.prefix,
        "CIVICLOOP_TOPIC_PARTITIONS": str(fresh.partitions),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_geo.entrypoints.cli",
        "rebuild",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    assert f"content-sha256 geo {original['geo'].combined}" in out.decode()
    for table, digest in original["geo"].tables.items():
        assert f"content-sha256 geo.{table} {digest}" in out.decode()
