"""One record per event on the log when the broker's acknowledgement is lost: the broker took the record, the
producer never heard, the publish timed out and the row stayed pending. The retry (in the same process, or in
another one that never saw the first send) and the sweeper must not put the event on the log a second time.

A throwaway broker behind a proxy that swallows its replies (`civicloop_testing.faults`); the outbox is a real
table in the run's database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from civicloop_events import Event, decode_event, encode_event
from civicloop_events.outbox import EventLogUnavailable, Sweeper, publish_stored
from civicloop_events.outbox_kafka import ProducerEventLog
from civicloop_events.outbox_postgres import PostgresOutbox
from civicloop_events.producer import EventProducer
from civicloop_events.request_numbers import draw
from civicloop_events.topics import Topics, ensure_topics
from civicloop_testing import read_all_records
from civicloop_testing.faults import ThrowawayKafka
from outbox_kit import scratch_outbox
from runner_kit import comment as agent_comment

pytestmark = pytest.mark.integration

SCHEMA = "one_record_per_event"
PUBLISH_TIMEOUT_S = 3.0


@dataclass
class Log:
    kafka: ThrowawayKafka
    topics: Topics

    async def copies(self, event: Event[Any]) -> list[tuple[int, int]]:
        """(partition, offset) of every record of `event` on the request topic."""
        records = await read_all_records(
            self.kafka.bootstrap, self.topics.request_events, self.topics.partitions
        )
        return [(r.partition, r.offset) for r in records if decode_event(r.value).event_id == event.event_id]

    async def until_on_the_log(self, event: Event[Any]) -> list[tuple[int, int]]:
        """The records of `event` once there is one: the unheard send lands when its producer reconnects."""
        async with asyncio.timeout(30):
            while not (copies := await self.copies(event)):
                await asyncio.sleep(0.2)  # polling the log for the condition itself, bounded by the timeout
        return copies

    @asynccontextmanager
    async def producer(self) -> AsyncIterator[EventProducer]:
        """A started producer that has published once: it knows the topic's leaders, so a later send goes straight
        to the broker (a lost metadata answer would keep the record from being sent at all)."""
        producer = EventProducer(self.kafka.bootstrap, self.topics.request_events, client_id="one-record")
        await producer.start()
        try:
            await producer.publish(comment("warm-up"))
            yield producer
        finally:
            await producer.stop()

    async def lose_the_next_acknowledgement(self) -> None:
        self.kafka.proxy.swallow_replies = True

    async def hear_again(self) -> None:
        """Replies flow again on fresh connections (the one that lost its answer is dropped, as a broken link is)."""
        self.kafka.proxy.swallow_replies = False
        await self.kafka.proxy.cut()
        await self.kafka.proxy.restore()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def log() -> AsyncIterator[Log]:
    """One broker for the module: each test has events of its own and restores the replies it swallowed."""
    async with ThrowawayKafka() as kafka:
        topics = Topics(prefix=f"t{uuid.uuid4().hex[:8]}.", partitions=3)
        await ensure_topics(kafka.bootstrap, topics, timeout_s=60)
        yield Log(kafka, topics)


@pytest_asyncio.fixture(loop_scope="session")
async def outbox(database_dsn: str) -> AsyncIterator[PostgresOutbox]:
    async with scratch_outbox(database_dsn, SCHEMA) as scratch:
        yield scratch


def comment(text: str) -> Event[Any]:
    """An agent's comment on a new request."""
    return agent_comment(draw("intake"), text)


async def stored(outbox: PostgresOutbox) -> tuple[str, Event[Any]]:
    event = comment("acknowledgement lost")
    key = f"k-{uuid.uuid4().hex[:12]}"
    async with outbox.pool.connection() as conn:
        await conn.execute(
            f"insert into {outbox.table.name} (key, events) values (%s, %s)",
            (key, [encode_event(event).decode()]),
        )
    return key, event


async def first_attempt_unheard(
    log: Log, outbox: PostgresOutbox, producer: EventProducer
) -> tuple[str, Event]:
    """A command stores its row and publishes; the broker takes the record, the answer is lost, the call fails."""
    key, event = await stored(outbox)
    await log.lose_the_next_acknowledgement()
    with pytest.raises(EventLogUnavailable):
        await publish_stored(
            outbox, ProducerEventLog(producer, publish_timeout_s=PUBLISH_TIMEOUT_S), key, stored_now=True
        )
    row = await outbox.stored(key)
    assert row is not None and not row.published
    await log.hear_again()
    return key, event


async def test_a_retry_in_the_same_process_after_a_lost_acknowledgement_leaves_one_record(log, outbox):
    async with log.producer() as producer:
        key, event = await first_attempt_unheard(log, outbox, producer)
        [landed] = await log.until_on_the_log(event)  # the first attempt's record, before any retry
        outcome = await publish_stored(
            outbox, ProducerEventLog(producer, publish_timeout_s=PUBLISH_TIMEOUT_S), key
        )
        assert (
            outcome.position is not None and (outcome.position.partition, outcome.position.offset) == landed
        )
        assert await log.copies(event) == [landed]


async def test_a_retry_in_another_process_after_a_lost_acknowledgement_leaves_one_record(log, outbox):
    async with log.producer() as first:
        key, event = await first_attempt_unheard(log, outbox, first)
        [landed] = await log.until_on_the_log(event)
        async with (
            log.producer() as other
        ):  # another replica, or the service restarted: it never saw the send
            outcome = await publish_stored(
                outbox, ProducerEventLog(other, publish_timeout_s=PUBLISH_TIMEOUT_S), key
            )
        assert (
            outcome.position is not None and (outcome.position.partition, outcome.position.offset) == landed
        )
        assert await log.copies(event) == [landed]


async def test_the_sweeper_after_a_lost_acknowledgement_leaves_one_record(log, outbox):
    async with log.producer() as first:
        key, event = await first_attempt_unheard(log, outbox, first)
        [landed] = await log.until_on_the_log(event)
        async with log.producer() as sweeping:
            event_log = ProducerEventLog(sweeping, publish_timeout_s=PUBLISH_TIMEOUT_S)
            assert await Sweeper([outbox], event_log, older_than=timedelta(0)).sweep_once() >= 1
        row = await outbox.stored(key)
        assert row is not None and row.published and row.position is not None
        assert (row.position.partition, row.position.offset) == landed
        assert await log.copies(event) == [landed]


async def test_the_producer_answers_a_resent_event_with_its_earlier_send_not_a_second_record(log):
    """What a consumer retrying its batch does (geo's reactions carry ids derived from their cause)."""
    async with log.producer() as producer:
        event = comment("reaction")
        await log.lose_the_next_acknowledgement()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(producer.publish(event), timeout=PUBLISH_TIMEOUT_S)
        await log.hear_again()
        again = await asyncio.wait_for(producer.publish(event), timeout=30)
        [batch_again] = await asyncio.wait_for(producer.publish_many([event]), timeout=30)
        assert await log.copies(event) == [(again.partition, again.offset)]
        assert batch_again == again


async def test_a_batch_resent_after_its_wait_was_cut_short_stands_once_on_the_log(log):
    """A consumer's batch of reactions: the wait for the lot timed out, the handler is retried with the same ids."""
    async with log.producer() as producer:
        events = [comment("first reaction"), comment("second reaction")]
        await log.lose_the_next_acknowledgement()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(producer.publish_many(events), timeout=PUBLISH_TIMEOUT_S)
        await log.hear_again()
        positions = await asyncio.wait_for(producer.publish_many(events), timeout=30)
        for event, position in zip(events, positions, strict=True):
            assert await log.copies(event) == [(position.partition, position.offset)]


async def test_a_retry_that_cannot_search_the_log_publishes_nothing_and_the_next_one_publishes_once(
    log, outbox
):
    async with log.producer() as producer:
        event_log = ProducerEventLog(producer, publish_timeout_s=PUBLISH_TIMEOUT_S)
        key, event = await stored(outbox)
        await log.kafka.proxy.cut()  # the broker unreachable: the search cannot tell what is on the log
        try:
            with pytest.raises(EventLogUnavailable):
                await publish_stored(outbox, event_log, key)
        finally:
            await log.kafka.proxy.restore()
        row = await outbox.stored(key)
        assert row is not None and not row.published
        assert await log.copies(event) == []
        outcome = await asyncio.wait_for(publish_stored(outbox, event_log, key), timeout=30)
        assert outcome.position is not None
        assert await log.copies(event) == [(outcome.position.partition, outcome.position.offset)]
