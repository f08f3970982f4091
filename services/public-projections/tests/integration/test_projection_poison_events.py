"""Poison records go to the dead-letter topic after retries, and the projection moves on."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer
from civicloop_testing.events import publish_events
from projection_events import (
    area_defined,
    comment,
    new_jurisdiction,
    new_number,
    square,
    status_changed,
    submitted,
)
from projection_harness import agent_caught_up, catalogue_caught_up, consumers_running

pytestmark = pytest.mark.integration


async def dead_letters(bootstrap: str, topic: str, count: int) -> list:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    got = []
    try:
        async with asyncio.timeout(20):
            while len(got) < count:
                batch = await consumer.getmany(timeout_ms=300)
                got += [m for records in batch.values() for m in records]
    finally:
        await consumer.stop()
    return got


async def inbox_has(projections, event_id, consumer: str) -> bool:
    """Whether `consumer` applied the event (every group reading a topic keeps its own inbox rows)."""
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select 1 from projections.inbox where consumer = %s and event_id = %s", (consumer, event_id)
        )
        return await cur.fetchone() is not None


async def test_undecodable_bytes_are_dead_lettered_and_the_request_stream_goes_on(
    projections, request_producer, kafka_bootstrap, fresh_topics
):
    j, number = new_jurisdiction(), new_number()
    await request_producer.publish(submitted(number, j))
    junk = await request_producer.publish_raw(
        fresh_topics.request_events, b"\x00{not an event", key=number.encode(), headers=[]
    )
    after = await request_producer.publish(status_changed(number, j, "in_progress", minutes=3))
    assert junk.partition == after.partition and junk.offset < after.offset

    async with consumers_running(projections):
        await agent_caught_up(projections, [after])
        # Every group that reads the request topic dead-letters the bytes it cannot decode (the agent view's,
        # the SLA's, the public view's and the request index's), each record naming its consumer so each can be
        # redriven alone.
        letters = await dead_letters(kafka_bootstrap, fresh_topics.dead_letters, 4)

    by_consumer = {dict(letter.headers)["dlq.consumer"]: letter for letter in letters}
    assert set(by_consumer) == {
        projections.settings.agent_consumer_name.encode(),
        projections.settings.sla_consumer_name.encode(),
        projections.settings.public_consumer_name.encode(),
        projections.settings.request_index_consumer_name.encode(),
    }
    dead = by_consumer[projections.settings.agent_consumer_name.encode()]
    headers = dict(dead.headers)
    assert dead.value == b"\x00{not an event"
    assert headers["dlq.reason"] == b"undecodable"
    assert headers["dlq.consumer"] == projections.settings.agent_consumer_name.encode()
    assert headers["dlq.offset"] == str(junk.offset).encode()
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select status, event_count from projections.agent_requests where request_number = %s", (number,)
        )
        assert await cur.fetchone() == ("in_progress", 2)


async def test_an_area_the_handler_rejects_is_retried_then_dead_lettered(
    projections, kafka_bootstrap, fresh_topics
):
    j = new_jurisdiction()
    point = area_defined(j, "not-an-area", {"type": "Point", "coordinates": [-118.25, 34.05]})
    good = area_defined(j, "district-9", square(-118.3, 34.0, 0.1))
    _, after = await publish_events(kafka_bootstrap, fresh_topics.jurisdiction_config, [point, good])

    async with consumers_running(projections):
        await catalogue_caught_up(projections, [after])
        [dead] = await dead_letters(kafka_bootstrap, fresh_topics.dead_letters, 1)

    headers = dict(dead.headers)
    assert headers["dlq.reason"] == b"handler_failed"
    assert b"InvalidAreaGeometry" in headers["dlq.error"]
    assert headers["dlq.consumer"] == projections.settings.catalogue_consumer_name.encode()
    assert not await inbox_has(
        projections, point.event_id, projections.settings.catalogue_consumer_name
    )  # no inbox row: a redrive after a fix can apply it
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select area_id from projections.service_areas where jurisdiction_id = %s", (j,)
        )
        assert await cur.fetchall() == [("district-9",)]


async def test_a_batch_with_one_poison_event_applies_every_other_event_exactly_once(
    projections, request_producer, kafka_bootstrap, fresh_topics
):
    """The agent view folds a partition's batch in one call; one event it cannot write (a NUL character, which no
    PostgreSQL text or jsonb value can hold) fails the whole call. The batch rolls back and runs again an event at a
    time: the poison is dead-lettered alone, and every event around it is applied once."""
    j = new_jurisdiction()
    numbers = [new_number() for _ in range(18)]
    poison_number = new_number()
    good = [submitted(n, j, minutes=i) for i, n in enumerate(numbers)]
    good += [status_changed(n, j, "acknowledged", minutes=20) for n in numbers]
    poison = submitted(poison_number, j, description="a hole\x00with a NUL in it")
    later = [comment(n, j, minutes=30) for n in numbers]
    # All on the log before the consumer starts, so each partition's events come in one poll, one batch.
    positions = [await request_producer.publish(e) for e in good]
    poison_at = await request_producer.publish(poison)
    positions += [await request_producer.publish(e) for e in later]
    same_partition = [p for p in positions if p.partition == poison_at.partition]
    assert any(p.offset < poison_at.offset for p in same_partition)
    assert any(p.offset > poison_at.offset for p in same_partition)

    async with consumers_running(projections):
        await agent_caught_up(projections, [*positions, poison_at])
        [dead] = await dead_letters(kafka_bootstrap, fresh_topics.dead_letters, 1)

    headers = dict(dead.headers)
    assert headers["dlq.reason"] == b"handler_failed"
    assert headers["dlq.offset"] == str(poison_at.offset).encode()
    assert not await inbox_has(projections, poison.event_id, projections.settings.agent_consumer_name)
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select event_id, count(*) from projections.agent_request_history where jurisdiction_id = %s"
            " group by event_id",
            (j,),
        )
        history = dict(await cur.fetchall())
        cur = await conn.execute(
            "select request_number, status, event_count from projections.agent_requests where jurisdiction_id = %s",
            (j,),
        )
        rows = {number: (status, count) for number, status, count in await cur.fetchall()}
    assert history == {e.event_id: 1 for e in [*good, *later]}
    assert rows == dict.fromkeys(numbers, ("acknowledged", 3))
