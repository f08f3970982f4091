"""A batch's reactions: all on the log before the batch commits, in order per request, with the same ids when a
batch runs again (real PostGIS and the real broker)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from civicloop_events import Event
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_geo.adapters.area_store import PostgresAreaResolver
from civicloop_geo.adapters.gazetteer import PostgisGazetteer
from civicloop_geo.adapters.kafka_publisher import KafkaEventPublisher
from civicloop_geo.adapters.placing_batch import PostgresPlacingBatch
from civicloop_geo.service_layer.batch_handler import BatchPlacingDeps, place_and_check_batch
from civicloop_geo.service_layer.handlers import PlacingPolicy
from civicloop_geo.service_layer.ports import EventPublisher
from civicloop_testing.events import read_all_events
from psycopg_pool import AsyncConnectionPool

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "unit")
)  # the seeded streams, shared with unit tests
from geo_event_streams import event_stream

pytestmark = pytest.mark.integration


class BrokerDown(EventPublisher):
    """Sends a batch's reactions, then fails before every acknowledgement came back."""

    def __init__(self) -> None:
        self.sent: list[Event[Any]] = []

    async def publish(self, event: Event[Any]) -> None:
        raise AssertionError("a batch publishes with publish_all")

    async def publish_all(self, events: Any) -> None:
        self.sent.extend(events)
        raise TimeoutError("no acknowledgement from the broker")


class Recorder(EventPublisher):
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    async def publish(self, event: Event[Any]) -> None:
        self.events.append(event)


async def geo_rows(pool: AsyncConnectionPool, prefix: str) -> tuple[int, int]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select (select count(*) from geo.requests where request_id like %(p)s),"
            " (select count(*) from geo.decisions where request_id like %(p)s)",
            {"p": f"{prefix}-%"},
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def test_a_batch_whose_reactions_are_not_acknowledged_commits_nothing_and_runs_again_with_the_same_ids(
    geo_pool: AsyncConnectionPool,
) -> None:
    j = f"ack-{uuid.uuid4().hex[:8]}"
    batch = event_stream(11, j, requests=20, length=60)
    geocoder, areas = PostgisGazetteer(geo_pool), PostgresAreaResolver(geo_pool)

    def deps(conn: Any, publisher: EventPublisher) -> BatchPlacingDeps:
        return BatchPlacingDeps(
            geocoder=geocoder,
            areas=areas,
            store=PostgresPlacingBatch(conn),
            publisher=publisher,
            policy=PlacingPolicy(),
        )

    down = BrokerDown()
    with pytest.raises(TimeoutError):
        async with (
            geo_pool.connection() as conn,
            conn.transaction(),
        ):  # the runner's transaction for the batch
            await place_and_check_batch(deps(conn, down), batch)
    assert down.sent, "the reactions were sent"
    assert await geo_rows(geo_pool, j) == (0, 0), "nothing of the batch is committed"

    again = Recorder()
    async with geo_pool.connection() as conn, conn.transaction():
        await place_and_check_batch(deps(conn, again), batch)
    assert [(e.event_id, e.payload) for e in again.events] == [(e.event_id, e.payload) for e in down.sent]
    assert (await geo_rows(geo_pool, j))[1] > 0


async def test_publish_all_puts_every_event_on_the_log_in_order_per_request(
    fresh_topics: Topics, kafka_bootstrap: str
) -> None:
    events = event_stream(12, f"pub-{uuid.uuid4().hex[:8]}", requests=10, length=300)
    producer = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await producer.start()
    try:
        await KafkaEventPublisher(producer).publish_all(events)
    finally:
        await producer.stop()
    on_log = await read_all_events(kafka_bootstrap, fresh_topics.request_events, fresh_topics.partitions)
    assert sorted(e.event_id for e in on_log) == sorted(e.event_id for e in events)
    for rid in {e.request_id for e in events}:
        assert [e.event_id for e in on_log if e.request_id == rid] == [
            e.event_id for e in events if e.request_id == rid
        ]
