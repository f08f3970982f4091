"""On the real PostGIS: a batch of request events placed and checked at once leaves the same rows and decisions, and
publishes the same reactions, as the same events applied one by one."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from civicloop_events import Event
from civicloop_events.payloads import DuplicateSuspected, LocationResolved
from civicloop_geo.adapters.area_store import PostgresAreaResolver
from civicloop_geo.adapters.gazetteer import PostgisGazetteer
from civicloop_geo.adapters.placing_batch import PostgresPlacingBatch
from civicloop_geo.adapters.request_places import PostgresRequestPlaces
from civicloop_geo.service_layer.batch_handler import BatchPlacingDeps, place_and_check_batch
from civicloop_geo.service_layer.handlers import (
    PlacingDeps,
    PlacingPolicy,
    when_request_event_place_and_check,
)
from civicloop_geo.service_layer.ports import EventPublisher
from geo_area_loading import area_event, define_all
from psycopg_pool import AsyncConnectionPool

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "unit")
)  # the seeded streams, shared with unit tests
from geo_event_streams import GROUPS, LAT, LONG, batches, event_stream

pytestmark = pytest.mark.integration


def box(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


class Recorder(EventPublisher):
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    async def publish(self, event: Event[Any]) -> None:
        self.events.append(event)

    def published(self) -> list[tuple[Any, str, dict[str, Any]]]:
        return [(e.event_id, e.type, e.payload.model_dump()) for e in self.events]


async def a_jurisdiction(pool: AsyncConnectionPool) -> str:
    """Its boundary (points far east fall outside), two wards split at LAT, and related categories."""
    j = f"bp-{uuid.uuid4().hex[:8]}"
    await define_all(
        pool,
        [
            area_event(
                j, "boundary", "City", "boundary", box(LAT - 0.02, LONG - 0.02, LAT + 0.02, LONG + 0.006)
            ),
            area_event(j, "ward-1", "Ward 1", "ward", box(LAT - 0.02, LONG - 0.02, LAT, LONG + 0.02)),
            area_event(j, "ward-2", "Ward 2", "ward", box(LAT, LONG - 0.02, LAT + 0.02, LONG + 0.02)),
        ],
    )
    async with pool.connection() as conn:
        store = PostgresRequestPlaces(conn)
        for code, group in GROUPS.items():
            await store.define_service(j, code, group)
    return j


async def geo_state(conn: psycopg.AsyncConnection[Any], j: str) -> tuple[list[Any], list[Any]]:
    cur = await conn.execute(
        """select request_id, jurisdiction_id, service_code, status, submitted_at, ST_AsEWKB(geog::geometry), area_ids, h3_cell,
                  merged_into
             from geo.requests where jurisdiction_id = %s order by request_id""",
        (j,),
    )
    rows = await cur.fetchall()
    cur = await conn.execute(
        """select request_id, outcome, cause_event_id, service_code, submitted_at from geo.decisions
            where request_id like %s order by request_id""",
        (f"{j}-%",),
    )
    return rows, await cur.fetchall()


@pytest.mark.parametrize("seed", range(6))
async def test_a_batch_on_postgis_equals_its_events_one_by_one(
    geo_pool: AsyncConnectionPool, seed: int
) -> None:
    j = await a_jurisdiction(geo_pool)
    events = event_stream(seed, j, requests=40, length=240)
    before, rest = events[:60], events[60:]
    policy = PlacingPolicy()
    geocoder, areas = PostgisGazetteer(geo_pool), PostgresAreaResolver(geo_pool)
    async with geo_pool.connection() as conn, conn.transaction(force_rollback=True):
        one = PlacingDeps(
            geocoder=geocoder,
            areas=areas,
            places=PostgresRequestPlaces(conn),
            publisher=Recorder(),
            policy=policy,
        )
        for event in before:  # geo's rows before the batches: both runs start from them
            await when_request_event_place_and_check(one, event)

        expected = Recorder()
        async with conn.transaction(force_rollback=True):
            one.publisher = expected
            for event in rest:
                await when_request_event_place_and_check(one, event)
            expected_state = await geo_state(conn, j)

        got = Recorder()
        async with conn.transaction(force_rollback=True):
            deps = BatchPlacingDeps(
                geocoder=geocoder,
                areas=areas,
                store=PostgresPlacingBatch(conn),
                publisher=got,
                policy=policy,
                geocoder_concurrency=4,
            )
            for batch in batches(seed, rest, largest=60):
                await place_and_check_batch(deps, batch)
            state = await geo_state(conn, j)

    assert got.published() == expected.published()
    assert state == expected_state
    resolved = [e for e in expected.events if isinstance(e.payload, LocationResolved)]
    assert resolved and any(not e.payload.inside_jurisdiction for e in resolved), "some points are outside"
    assert any(isinstance(e.payload, DuplicateSuspected) for e in expected.events)
