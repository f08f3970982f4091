"""`rebuild` on the real broker and PostGIS: geo's read model replayed from the log equals what live geo built, and
the rebuild publishes nothing."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from civicloop_events import ServiceAreaDefined, ServiceDefined
from civicloop_events.consumer import read_positions
from civicloop_events.topics import Topics, partition_extents
from civicloop_geo.bootstrap import bootstrap
from civicloop_geo.entrypoints.rebuild import TABLES, WRITE_TIME_COLUMNS, ConsumersStillRunning, rebuild
from civicloop_geo.settings import SCHEMA, GeoSettings
from civicloop_runtime.content_hash import read_model_hash_at
from civicloop_runtime.service_commands import without_consumers
from civicloop_testing.events import config_event, publish_events, read_all_events
from civicloop_testing.polling import eventually

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "unit")
)  # the seeded streams, shared with unit tests
from geo_event_streams import GROUPS, LAT, LONG, event_stream

pytestmark = pytest.mark.integration

J = "rebuild-city"


def box(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


async def snapshot(dsn: str) -> dict[str, list[Any]]:
    queries = {
        "requests": """select request_id, jurisdiction_id, service_code, status, submitted_at,
                              ST_AsEWKB(geog::geometry), area_ids, h3_cell, merged_into
                         from geo.requests order by request_id""",
        "decisions": """select request_id, outcome, cause_event_id, service_code, submitted_at
                          from geo.decisions order by request_id""",
        "service_areas": """select jurisdiction_id, area_id, version, kind, name, ST_AsEWKB(geom), event_id
                              from geo.service_areas order by jurisdiction_id, area_id, version""",
        "services": "select * from geo.services order by jurisdiction_id, service_code",
    }
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        out = {}
        for name, sql in queries.items():
            cur = await conn.execute(sql)
            out[name] = await cur.fetchall()
        return out


async def log_size(settings: GeoSettings) -> int:
    total = 0
    for topic in (
        settings.topics.request_events,
        settings.topics.jurisdiction_config,
        settings.topics.dead_letters,
    ):
        total += sum(end for _, end in (await partition_extents(settings.kafka_bootstrap, topic)).values())
    return total


async def caught_up(settings: GeoSettings, ends: dict[int, tuple[int, int]]) -> bool:
    async with await psycopg.AsyncConnection.connect(settings.pg_dsn) as conn:
        done = await read_positions(
            conn, SCHEMA, settings.requests_consumer_name, settings.topics.request_events
        )
    return all(done.get(p, 0) >= end for p, (_, end) in ends.items())


async def test_a_rebuild_replays_geos_read_model_from_the_log_without_publishing(
    fresh_geo_dsn: str, fresh_topics: Topics, kafka_bootstrap: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = GeoSettings(
        pg_dsn=fresh_geo_dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=fresh_topics.prefix,
        topic_partitions=fresh_topics.partitions,
        requests_consumer_name=f"geo.requests.v1.{tag}",
        config_consumer_name=f"geo.config.v1.{tag}",
    )
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
        fresh_topics.jurisdiction_config,
        [config_event(p, jurisdiction_id=J) for p in configuration],
    )
    events = event_stream(3, J, requests=40, length=200)
    await publish_events(kafka_bootstrap, fresh_topics.request_events, events)
    ends = await partition_extents(kafka_bootstrap, fresh_topics.request_events)

    geo = await bootstrap(settings)
    try:
        await eventually(
            lambda: caught_up(settings, ends), timeout=90, what="live geo applied the stream", interval=0.2
        )
        with pytest.raises(ConsumersStillRunning):
            await rebuild(geo)
    finally:
        await geo.close()
    live = await snapshot(fresh_geo_dsn)
    live_hash = await read_model_hash_at(fresh_geo_dsn, SCHEMA, TABLES, ignore=WRITE_TIME_COLUMNS)
    assert live["requests"] and live["decisions"] and live["service_areas"]
    on_the_log = await log_size(settings)

    async with without_consumers(
        bootstrap, settings, topic=settings.topics.dead_letters, client_id="geo-rebuild-test"
    ) as offline:
        counts = await rebuild(offline)

    rebuilt = await snapshot(fresh_geo_dsn)
    if rebuilt != live:  # what the log holds of the requests that differ, to tell which fold went astray
        differing = {
            row[0]
            for table in ("requests", "decisions")
            for a, b in ((live[table], rebuilt[table]), (rebuilt[table], live[table]))
            for row in a
            if row not in b
        }
        log = await read_all_events(kafka_bootstrap, fresh_topics.request_events, fresh_topics.partitions)
        histories = {
            rid: [
                (e.type, e.source, str(e.event_id)[-6:], str(e.causation_id)[-6:])
                for e in log
                if e.request_id == rid
            ]
            for rid in sorted(differing)
        }
        pytest.fail(f"the rebuild differs from live geo for {sorted(differing)}; their log: {histories}")
    assert counts == {name: len(rows) for name, rows in live.items()}
    rebuilt_hash = await read_model_hash_at(fresh_geo_dsn, SCHEMA, TABLES, ignore=WRITE_TIME_COLUMNS)
    assert rebuilt_hash == live_hash
    assert await log_size(settings) == on_the_log, "a rebuild publishes nothing"
