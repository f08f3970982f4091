"""One contract for the outbox port and the publisher over it, run against the fake and the real adapters.

`memory`: `InMemoryOutbox` and an in-memory event log. `postgres`: `PostgresOutbox` over a table in the run's
database and `ProducerEventLog` on the real broker (topics of the test's own). Every test runs on both.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from civicloop_events import Actor, ActorKind, CommentAdded, Event, decode_event, encode_event
from civicloop_events.outbox import EventLog, Outbox, Sweeper, publish_stored
from civicloop_events.outbox_kafka import ProducerEventLog
from civicloop_events.outbox_memory import InMemoryOutbox
from civicloop_events.positions import LogPosition
from civicloop_events.producer import EventProducer
from civicloop_events.request_numbers import draw
from civicloop_testing import make_topics, read_all_records
from outbox_kit import scratch_outbox
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration

SCHEMA = "outbox_contract"
NOW = timedelta(0)


class MemoryEventLog(EventLog):
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    async def publish(self, event: Event[Any]) -> LogPosition:
        await asyncio.sleep(0)  # let concurrent callers interleave, as a broker round-trip would
        self.events.append(event)
        return LogPosition(0, len(self.events) - 1)

    async def find(self, events: Sequence[Event[Any]], *, since: datetime) -> list[LogPosition | None]:
        offsets = {e.event_id: offset for offset, e in enumerate(self.events)}
        return [None if e.event_id not in offsets else LogPosition(0, offsets[e.event_id]) for e in events]


@dataclass
class World:
    """An outbox, the event log behind it, and how to store a row and read back what reached the log."""

    outbox: Outbox
    event_log: EventLog
    kind: str
    pool: AsyncConnectionPool | None = None
    table: str = ""
    bootstrap: str = ""
    topic: str = ""
    partitions: int = 1
    memory_log: MemoryEventLog | None = field(default=None)

    async def store(self, *texts: str) -> tuple[str, list[Event[Any]]]:
        """A row as a command stores it (what a crashed first attempt leaves behind): pending, not published."""
        number = draw("intake")  # one request: its events share a partition, so the log keeps their order
        events = [
            Event.create(
                CommentAdded(text=text),
                request_id=number,
                jurisdiction_id="demo",
                actor=Actor(kind=ActorKind.agent, id="a1"),
                source="agent",
            )
            for text in texts
        ]
        key = await self.store_encoded([encode_event(e).decode() for e in events])
        return key, events

    async def store_encoded(self, encoded: list[str]) -> str:
        key = f"k-{uuid.uuid4().hex[:12]}"
        if isinstance(self.outbox, InMemoryOutbox):
            assert self.outbox.put(key, encoded)
        else:
            assert self.pool is not None
            async with self.pool.connection() as conn:
                await conn.execute(
                    f"insert into {self.table} (key, events) values (%s, %s)",
                    (key, encoded),
                )
        return key

    async def age(self, key: str, by: timedelta) -> None:
        """Make the row look stored `by` earlier."""
        if isinstance(self.outbox, InMemoryOutbox):
            self.outbox.stored_at[key] -= by.total_seconds()
            return
        assert self.pool is not None
        async with self.pool.connection() as conn:
            await conn.execute(
                f"update {self.table} set created_at = created_at - %s where key = %s", (by, key)
            )

    async def published_ids(self) -> list[uuid.UUID]:
        """Event ids on the log, in log order (every copy: a second publish would show twice)."""
        if self.memory_log is not None:
            return [e.event_id for e in self.memory_log.events]
        records = await read_all_records(self.bootstrap, self.topic, self.partitions)
        return [decode_event(r.value).event_id for r in records]


@pytest_asyncio.fixture(loop_scope="session", params=["memory", "postgres"])
async def world(
    request: pytest.FixtureRequest, kafka_bootstrap: str, database_dsn: str
) -> AsyncIterator[World]:
    if request.param == "memory":
        log = MemoryEventLog()
        yield World(InMemoryOutbox("memory"), log, "memory", memory_log=log)
        return
    topics = await make_topics(kafka_bootstrap)
    producer = EventProducer(kafka_bootstrap, topics.request_events, client_id="outbox-contract")
    await producer.start()
    try:
        async with scratch_outbox(database_dsn, SCHEMA, max_size=8) as outbox:
            yield World(
                outbox,
                ProducerEventLog(producer, publish_timeout_s=10),
                "postgres",
                pool=outbox.pool,
                table=outbox.table.name,
                bootstrap=kafka_bootstrap,
                topic=topics.request_events,
                partitions=topics.partitions,
            )
    finally:
        await producer.stop()


async def test_a_stored_row_is_published_with_its_own_event_ids_and_marked_with_the_last_position(world):
    key, events = await world.store("first", "second")
    outcome = await publish_stored(world.outbox, world.event_log, key)
    assert outcome.published_now and outcome.position is not None
    assert await world.published_ids() == [e.event_id for e in events]
    stored = await world.outbox.stored(key)
    assert stored is not None and stored.published and stored.position == outcome.position


async def test_a_replay_answers_from_the_stored_position_and_publishes_nothing(world):
    key, events = await world.store("once")
    first = await publish_stored(world.outbox, world.event_log, key)
    again = await publish_stored(world.outbox, world.event_log, key)
    assert (again.published_now, again.position) == (False, first.position)
    assert await world.published_ids() == [events[0].event_id]


async def test_concurrent_retries_publish_a_row_once(world):
    key, events = await world.store("raced")
    outcomes = await asyncio.gather(*(publish_stored(world.outbox, world.event_log, key) for _ in range(5)))
    assert sum(o.published_now for o in outcomes) == 1
    assert len({o.position for o in outcomes}) == 1
    assert await world.published_ids() == [events[0].event_id]


async def test_a_row_the_caller_just_stored_is_published_once_without_the_replay_read(world):
    key, events = await world.store("new")
    first = await publish_stored(world.outbox, world.event_log, key, stored_now=True)
    again = await publish_stored(world.outbox, world.event_log, key)
    assert first.published_now and not again.published_now and again.position == first.position
    assert await world.published_ids() == [events[0].event_id]


async def test_publishing_a_key_never_stored_is_a_lookup_error(world):
    with pytest.raises(LookupError):
        await publish_stored(world.outbox, world.event_log, "never-stored")


class BrokerDown(Exception):
    pass


async def test_a_claim_that_fails_releases_its_row_pending_and_the_retry_publishes_it(world):
    key, events = await world.store("broker down")
    with pytest.raises(BrokerDown):
        async with world.outbox.claim(key):
            raise BrokerDown  # the publish failed: nothing marked
    stored = await world.outbox.stored(key)
    assert stored is not None and not stored.published
    outcome = await asyncio.wait_for(publish_stored(world.outbox, world.event_log, key), timeout=10)
    assert outcome.published_now
    assert await world.published_ids() == [events[0].event_id]


async def test_a_claim_left_without_a_mark_releases_its_row(world):
    key, events = await world.store("looked at only")
    async with world.outbox.claim(key) as claim:
        assert not claim.entry.published
    async with asyncio.timeout(10), world.outbox.claim(key) as again:  # not held any more
        await again.mark_published(await world.event_log.publish(events[0]))
    stored = await world.outbox.stored(key)
    assert stored is not None and stored.published


async def test_the_sweeper_publishes_a_row_left_pending_exactly_once_and_a_late_retry_answers_from_it(world):
    key, events = await world.store("left behind")
    sweeper = Sweeper([world.outbox], world.event_log, older_than=NOW)
    assert await sweeper.sweep_once() == 1
    assert await sweeper.sweep_once() == 0
    stored = await world.outbox.stored(key)
    assert stored is not None and stored.published
    retry = await publish_stored(world.outbox, world.event_log, key)
    assert (retry.published_now, retry.position) == (False, stored.position)
    assert await world.published_ids() == [events[0].event_id]
    assert await world.outbox.oldest_pending_age() is None


async def test_a_row_whose_events_do_not_decode_is_set_aside_and_never_holds_up_the_rows_behind_it(world):
    bad = await world.store_encoded(['{"not": "an envelope"}'])
    good, events = await world.store("behind the bad one")
    sweeper = Sweeper([world.outbox], world.event_log, older_than=NOW)
    assert await sweeper.sweep_once() == 1
    assert await sweeper.sweep_once() == 0
    assert await world.published_ids() == [events[0].event_id]
    bad_row, good_row = await world.outbox.stored(bad), await world.outbox.stored(good)
    assert bad_row is not None and not bad_row.published  # kept, pending, for a person to look at
    assert good_row is not None and good_row.published


async def test_a_retry_of_a_row_whose_event_reached_the_log_unheard_marks_it_without_publishing_again(world):
    key, events = await world.store("landed, acknowledgement lost")
    landed = await world.event_log.publish(events[0])  # the first attempt's record; its answer never came
    outcome = await publish_stored(world.outbox, world.event_log, key)
    assert outcome.published_now and outcome.position == landed
    assert await world.published_ids() == [events[0].event_id]


async def test_a_retry_sends_only_the_events_an_earlier_attempt_did_not_put_on_the_log(world):
    key, events = await world.store("first landed", "second did not")
    await world.event_log.publish(events[0])  # the attempt stopped between its two sends
    outcome = await publish_stored(world.outbox, world.event_log, key)
    assert await world.published_ids() == [e.event_id for e in events]
    stored = await world.outbox.stored(key)
    assert stored is not None and stored.published and stored.position == outcome.position


async def test_a_command_that_reaches_its_own_row_late_looks_on_the_log_first(world):
    """Stored a while ago by this very call (it waited for the row): a retry may have sent it meanwhile."""
    key, events = await world.store("stored, then the command waited")
    await world.age(key, timedelta(minutes=1))
    landed = await world.event_log.publish(events[0])  # that retry's record; its answer never came
    outcome = await publish_stored(world.outbox, world.event_log, key, stored_now=True)
    assert outcome.position == landed
    assert await world.published_ids() == [events[0].event_id]


async def test_the_sweeper_marks_a_row_whose_event_reached_the_log_unheard_without_publishing_again(world):
    key, events = await world.store("landed, then left pending")
    await world.event_log.publish(events[0])
    assert await Sweeper([world.outbox], world.event_log, older_than=NOW).sweep_once() == 1
    stored = await world.outbox.stored(key)
    assert stored is not None and stored.published
    assert await world.published_ids() == [events[0].event_id]


async def test_the_sweeper_leaves_rows_younger_than_its_threshold(world):
    key, _ = await world.store("just stored")
    assert await Sweeper([world.outbox], world.event_log, older_than=timedelta(hours=1)).sweep_once() == 0
    stored = await world.outbox.stored(key)
    assert stored is not None and not stored.published
    age = await world.outbox.oldest_pending_age()
    assert age is not None and timedelta(0) <= age < timedelta(hours=1)


async def test_the_sweeper_skips_a_row_a_command_is_publishing(world):
    key, events = await world.store("in flight")
    sweeper = Sweeper([world.outbox], world.event_log, older_than=NOW)
    async with world.outbox.claim(key) as claim:
        assert await sweeper.sweep_once() == 0  # held by the command: not waited for, not published
        await claim.mark_published(await world.event_log.publish(events[0]))
    assert await sweeper.sweep_once() == 0
    assert await world.published_ids() == [events[0].event_id]


async def test_one_sweeper_at_a_time(world):
    await world.store("a")
    await world.store("b")
    async with world.outbox.claim_oldest_pending(NOW) as mine:
        assert mine is not None
        async with world.outbox.claim_oldest_pending(NOW) as other:
            assert other is None  # another replica is sweeping this outbox
