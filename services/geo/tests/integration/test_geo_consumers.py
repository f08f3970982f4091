"""geo's consumers on the real broker and PostGIS: a submission in, LocationResolved / LocationUnresolved /
DuplicateSuspected out on the log, exactly once, and the same answers when the log is replayed from zero."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicloop_events import (
    Actor,
    ActorKind,
    Event,
    Location,
    ServiceAreaDefined,
    ServiceDefined,
    ServiceRequestSubmitted,
    decode_event,
)
from civicloop_events.payloads import (
    DuplicateSuspected,
    LocationCorrected,
    LocationMethod,
    LocationResolved,
    LocationUnresolved,
    MergedAsDuplicate,
    UnresolvedReason,
)
from civicloop_events.payloads.base import EventPayload
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_geo.adapters.gazetteer_loader import AddressRecord, load_address_points
from civicloop_geo.bootstrap import Geo, bootstrap
from civicloop_geo.domain.addresses import parse_address
from civicloop_geo.settings import GeoSettings
from civicloop_runtime.db import open_pool
from civicloop_testing import read_all_records
from civicloop_testing.events import agent_event, config_event, publish_events
from civicloop_testing.lifecycle import started
from civicloop_testing.polling import eventually

pytestmark = pytest.mark.integration

J = "geo-e2e"
LAT, LONG = 34.0522, -118.2437
RESIDENT = Actor(kind=ActorKind.resident)


def offset(north_m: float, east_m: float) -> tuple[float, float]:
    return LAT + north_m / 111_195.0, LONG + east_m / (111_195.0 * math.cos(math.radians(LAT)))


def box(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def ward(area_id: str, name: str) -> ServiceAreaDefined:
    """A ward around (LAT, LONG), about two kilometres across."""
    return ServiceAreaDefined(
        area_id=area_id,
        name=name,
        kind="ward",
        geometry=box(LAT - 0.01, LONG - 0.01, LAT + 0.01, LONG + 0.01),
    )


async def publish_configuration(
    kafka_bootstrap: str, topics: Topics, payloads: Iterable[EventPayload]
) -> None:
    events = [config_event(payload, jurisdiction_id=J) for payload in payloads]
    await publish_events(kafka_bootstrap, topics.jurisdiction_config, events)


def settings_for(dsn: str, topics: Topics, kafka_bootstrap: str) -> GeoSettings:
    tag = uuid.uuid4().hex[:8]
    return GeoSettings(
        pg_dsn=dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topics.prefix,
        topic_partitions=topics.partitions,
        requests_consumer_name=f"geo.requests.v1.{tag}",
        config_consumer_name=f"geo.config.v1.{tag}",
        consumer_backoff_initial_s=0.01,
        consumer_backoff_max_s=0.05,
        consumer_max_attempts=3,
    )


@asynccontextmanager
async def running(settings: GeoSettings) -> AsyncIterator[Geo]:
    geo = await bootstrap(settings)
    try:
        yield geo
    finally:
        await geo.close()


async def geo_events(kafka_bootstrap: str, topics: Topics) -> list[Event[Any]]:
    records = await read_all_records(kafka_bootstrap, topics.request_events, topics.partitions)
    return [e for e in (decode_event(r.value) for r in records) if e.source == "geo"]


async def wait_for_geo_events(kafka_bootstrap: str, topics: Topics, count: int) -> list[Event[Any]]:
    async def enough() -> list[Event[Any]] | None:
        events = await geo_events(kafka_bootstrap, topics)
        return events if len(events) >= count else None

    return await eventually(enough, timeout=90, what=f"{count} events from geo", interval=0.3)


def submission(number: str, location: Location, *, code: str = "pothole", at: datetime) -> Event[Any]:
    return Event.create(
        ServiceRequestSubmitted(service_code=code, location=location),
        request_id=number,
        jurisdiction_id=J,
        actor=RESIDENT,
        source="web",
        occurred_at=at,
    )


async def test_submissions_are_placed_flagged_and_checked_for_duplicates_once(
    fresh_geo_dsn: str, fresh_topics: Topics, kafka_bootstrap: str
) -> None:
    settings = settings_for(fresh_geo_dsn, fresh_topics, kafka_bootstrap)
    pool = await open_pool(fresh_geo_dsn, name="geo-e2e-tests")
    try:
        await load_address_points(
            pool,
            J,
            [
                AddressRecord(parse_address("2111 W BELLEVUE AVE, 90026"), *offset(300, 300)),
                AddressRecord(parse_address("2121 W BELLEVUE AVE, 90026"), *offset(300, 340)),
                AddressRecord(parse_address("120 S MAIN ST, 90012"), *offset(0, 0)),
            ],
            source="tests",
        )
    finally:
        await pool.close()

    configuration = [
        ServiceDefined(service_code="pothole", service_name="Pothole", group="roads"),
        ServiceDefined(service_code="sinkhole", service_name="Sinkhole", group="roads"),
        ward("ward-1", "Ward 1"),
    ]
    await publish_configuration(kafka_bootstrap, fresh_topics, configuration)
    requests = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await requests.start()
    t0 = datetime.now(UTC) - timedelta(hours=1)
    try:
        # Published before geo starts, as on a fresh start or a replay: geo folds the configuration on the log
        # before it places any request, or it would place them against no areas at all.
        await requests.publish(submission("GEOE-0001", Location(lat=LAT, long=LONG), at=t0))
        async with running(settings):
            await requests.publish(
                submission(
                    "GEOE-0002",
                    Location(address_string="2111 w bellvue ave"),
                    code="sinkhole",
                    at=t0 + timedelta(minutes=5),
                )
            )
            await requests.publish(
                submission(
                    "GEOE-0003", Location(address_string="1 Nowhere Plaza"), at=t0 + timedelta(minutes=6)
                )
            )
            await requests.publish(submission("GEOE-0004", Location(lat=LAT + 0.5, long=LONG), at=t0))
            near = offset(40, 0)
            await requests.publish(
                submission("GEOE-0005", Location(lat=near[0], long=near[1]), at=t0 + timedelta(minutes=10))
            )
            events = await wait_for_geo_events(kafka_bootstrap, fresh_topics, 7)
    finally:
        await requests.stop()

    by = {(e.request_id, type(e.payload)): e for e in events}
    assert len(by) == len(events) == 7, [(e.request_id, e.type) for e in events]

    gps: LocationResolved = by[("GEOE-0001", LocationResolved)].payload
    assert (gps.lat, gps.long, gps.method, gps.provider) == (LAT, LONG, LocationMethod.submitted, "reporter")
    assert gps.address == "120 S MAIN ST, 90012", "no address given: reverse geocoded"
    assert gps.inside_jurisdiction and [a.area_id for a in gps.service_areas] == ["ward-1"]
    assert gps.public.address == "100 block of S MAIN ST, 90012" and (gps.public.lat, gps.public.long) != (
        LAT,
        LONG,
    )

    typo: LocationResolved = by[("GEOE-0002", LocationResolved)].payload
    assert typo.method is LocationMethod.geocoded and typo.provider == "gazetteer"
    assert typo.address is not None and "BELLEVUE" in typo.address and typo.confidence >= 0.5
    assert abs(typo.lat - offset(300, 300)[0]) < 1e-6

    assert by[("GEOE-0003", LocationUnresolved)].payload.reason in (
        UnresolvedReason.address_not_found,
        UnresolvedReason.low_confidence,
    )
    far: LocationResolved = by[("GEOE-0004", LocationResolved)].payload
    assert far.inside_jurisdiction is False and far.service_areas == []

    # Three open requests within 500 m of each other, of related categories (pothole, sinkhole: group "roads"):
    # placed in no defined order (different partitions), and whichever is placed later names those placed before.
    # So each pair is named exactly once, and the first placed names none.
    named = {e.request_id: e.payload.candidates for e in events if isinstance(e.payload, DuplicateSuspected)}
    assert len(named) == 2
    close = ["GEOE-0001", "GEOE-0002", "GEOE-0005"]
    for a, b in ((x, y) for i, x in enumerate(close) for y in close[i + 1 :]):
        a_names_b = b in [c.request_id for c in named.get(a, [])]
        b_names_a = a in [c.request_id for c in named.get(b, [])]
        assert a_names_b != b_names_a, (a, b, named)
    expected_m = {
        frozenset({"GEOE-0001", "GEOE-0005"}): (35, 45),
        frozenset({"GEOE-0001", "GEOE-0002"}): (400, 450),
        frozenset({"GEOE-0002", "GEOE-0005"}): (380, 420),
    }
    for rid, candidates in named.items():
        assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
        for c in candidates:
            low, high = expected_m[frozenset({rid, c.request_id})]
            assert low < c.distance_m < high, (rid, c)
    assert all(e.causation_id is not None for e in events)

    # Replay from zero (a new consumer group on the same log): the same event ids again, so nothing new lands.
    replay = settings.model_copy(
        update={
            "requests_consumer_name": settings.requests_consumer_name + ".replay",
            "config_consumer_name": settings.config_consumer_name + ".replay",
        }
    )
    async with running(replay) as geo:
        await eventually(
            lambda: _placed_at_least(geo, 4), timeout=30, what="4 placements replayed", interval=0.2
        )
        await asyncio.sleep(1.0)
    again = await geo_events(kafka_bootstrap, fresh_topics)
    assert {e.event_id for e in again} == {e.event_id for e in events}


async def _placed(geo: Geo) -> int:
    async with geo.pool.connection() as conn:
        cur = await conn.execute(
            "select count(*) from geo.inbox where consumer = %s", (geo.settings.requests_consumer_name,)
        )
        return (await cur.fetchone())[0]


async def _placed_at_least(geo: Geo, n: int) -> bool:
    return await _placed(geo) >= n


async def test_a_merged_request_is_no_longer_a_candidate(
    fresh_geo_dsn: str, fresh_topics: Topics, kafka_bootstrap: str
) -> None:
    settings = settings_for(fresh_geo_dsn, fresh_topics, kafka_bootstrap)
    requests = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await requests.start()
    t0 = datetime.now(UTC) - timedelta(hours=1)
    try:
        async with running(settings) as geo:
            # One step at a time: the three requests sit on different partitions, whose relative order is not
            # defined, and this test is about the merge, not about that race.
            await requests.publish(submission("GEOM-0001", Location(lat=LAT, long=LONG), at=t0))
            await wait_for_geo_events(kafka_bootstrap, fresh_topics, 1)
            await requests.publish(
                submission("GEOM-0002", Location(lat=LAT, long=LONG), at=t0 + timedelta(minutes=1))
            )
            await wait_for_geo_events(kafka_bootstrap, fresh_topics, 3)
            await requests.publish(
                agent_event(
                    MergedAsDuplicate(original_request_id="GEOM-0001"),
                    request_id="GEOM-0002",
                    agent="a1",
                    jurisdiction_id=J,
                )
            )
            await eventually(
                lambda: _merged(geo, "GEOM-0002"), timeout=30, what="GEOM-0002 merged", interval=0.1
            )
            await requests.publish(
                submission("GEOM-0003", Location(lat=LAT, long=LONG), at=t0 + timedelta(minutes=2))
            )
            events = await wait_for_geo_events(kafka_bootstrap, fresh_topics, 5)
    finally:
        await requests.stop()
    [second] = [
        e for e in events if e.request_id == "GEOM-0002" and isinstance(e.payload, DuplicateSuspected)
    ]
    assert [c.request_id for c in second.payload.candidates] == ["GEOM-0001"]
    [third] = [e for e in events if e.request_id == "GEOM-0003" and isinstance(e.payload, DuplicateSuspected)]
    assert [c.request_id for c in third.payload.candidates] == ["GEOM-0001"], (
        "the merged GEOM-0002 is not offered"
    )


async def _merged(geo: Geo, request_id: str) -> bool:
    async with geo.pool.connection() as conn:
        cur = await conn.execute("select merged_into from geo.requests where request_id = %s", (request_id,))
        row = await cur.fetchone()
        return bool(row and row[0])


async def test_on_a_fresh_start_requests_wait_for_the_configuration_on_the_log(
    fresh_geo_dsn: str, fresh_topics: Topics, kafka_bootstrap: str
) -> None:
    """A replay or a first start finds both topics full: the areas must be folded before anything is placed."""
    settings = settings_for(fresh_geo_dsn, fresh_topics, kafka_bootstrap)
    far = [  # a county's worth of boundaries ahead of the one that matters
        ServiceAreaDefined(
            area_id=f"far-{i}",
            name=f"Far {i}",
            kind="block_group",
            geometry=box(LAT + 1 + i * 0.01, LONG, LAT + 1 + i * 0.01 + 0.005, LONG + 0.005),
        )
        for i in range(300)
    ]
    await publish_configuration(kafka_bootstrap, fresh_topics, [*far, ward("ward-9", "Ward 9")])
    async with started(EventProducer(kafka_bootstrap, fresh_topics.request_events)) as requests:
        for n in range(1, 6):
            await requests.publish(
                submission(f"GEOF-000{n}", Location(lat=LAT, long=LONG), at=datetime.now(UTC))
            )
        async with running(settings):
            # Five placements, each with duplicates of the others placed before it: 5 + 4 events in all.
            events = await wait_for_geo_events(kafka_bootstrap, fresh_topics, 9)
    placed = [e.payload for e in events if isinstance(e.payload, LocationResolved)]
    assert len(placed) == 5
    assert all(p.inside_jurisdiction and [a.area_id for a in p.service_areas] == ["ward-9"] for p in placed)


async def test_an_agent_places_by_hand_what_geo_could_not(
    fresh_geo_dsn: str, fresh_topics: Topics, kafka_bootstrap: str
) -> None:
    settings = settings_for(fresh_geo_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(kafka_bootstrap, fresh_topics, [ward("ward-3", "Ward 3")])
    requests = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    async with started(requests), running(settings):
        await requests.publish(
            submission("GEOC-0001", Location(address_string="behind the old mill"), at=datetime.now(UTC))
        )
        [unresolved] = await wait_for_geo_events(kafka_bootstrap, fresh_topics, 1)
        fix = agent_event(
            LocationCorrected(lat=LAT, long=LONG, address="120 S MAIN ST", note="called back"),
            request_id="GEOC-0001",
            agent="a1",
            jurisdiction_id=J,
        )
        await requests.publish(fix)
        events = await wait_for_geo_events(kafka_bootstrap, fresh_topics, 2)
    assert isinstance(unresolved.payload, LocationUnresolved)
    [placed] = [e for e in events if isinstance(e.payload, LocationResolved)]
    assert placed.causation_id == fix.event_id
    assert (placed.payload.method, placed.payload.provider) == (LocationMethod.corrected, "agent")
    assert [a.area_id for a in placed.payload.service_areas] == [
        "ward-3"
    ] and placed.payload.inside_jurisdiction
    assert placed.payload.public.address == "100 block of S MAIN ST"
