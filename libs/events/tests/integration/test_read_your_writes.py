"""Read-your-writes waiters woken by the runner's position notices, on the real PostgreSQL (and Kafka for a runner).

Reads of the stored position are counted, never timed: a waiter woken by its notice reads once (on arrival); one
that had to fall back reads again.
"""

import asyncio

import pytest
import pytest_asyncio
from civicloop_events.applied import PositionKey, close_listener, listener_for, notify_position
from civicloop_events.producer import EventProducer
from prometheus_client import REGISTRY
from psycopg_pool import AsyncConnectionPool
from runner_kit import NEVER_S, applied_within, comment, consumer_database, runner_on

pytestmark = pytest.mark.integration

SCHEMA = "rywtest"
TOPIC = "t.requests"


@pytest_asyncio.fixture(loop_scope="session")
async def db(fresh_database_dsn):
    async with consumer_database(fresh_database_dsn, SCHEMA) as pool:
        yield pool


async def store(pool, key: PositionKey, next_offset: int, *, notify: bool = True) -> None:
    """What the runner's `_store_positions` does, in one transaction (the notice optional, to lose it on purpose)."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            f"insert into {SCHEMA}.consumer_positions (consumer, topic, partition, next_offset)"
            " values (%s, %s, %s, %s) on conflict (consumer, topic, partition)"
            " do update set next_offset = excluded.next_offset",
            (key.consumer, key.topic, key.partition, next_offset),
        )
        if notify:
            await notify_position(conn, key, next_offset)


class CountedReads:
    """The stored next offset of `key`, read from the database, counting the reads and announcing the first."""

    def __init__(self, pool, key: PositionKey) -> None:
        self.pool = pool
        self.key = key
        self.count = 0
        self.first_done = asyncio.Event()

    async def __call__(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"select next_offset from {SCHEMA}.consumer_positions"
                " where consumer = %s and topic = %s and partition = %s",
                (self.key.consumer, self.key.topic, self.key.partition),
            )
            row = await cur.fetchone()
        self.count += 1
        self.first_done.set()
        return row[0] if row else 0


def reads_of(consumer: str) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "civicloop_read_your_writes_reads_total", {"consumer": consumer, "reason": reason}
        )
        or 0
        for reason in ("first", "recheck")
    )


async def test_a_waiter_wakes_on_the_notice_without_reading_again(db):
    key = PositionKey(SCHEMA, "t.wake.v1", TOPIC, 0)
    listener = listener_for(db)
    await listener.listening()
    read = CountedReads(db, key)
    waiting = asyncio.create_task(listener.wait(key, 4, read, timeout_s=NEVER_S, recheck_s=NEVER_S))
    await read.first_done.wait()

    await store(db, key, 4)  # offset 3 applied: not yet the one waited for
    await store(db, PositionKey(SCHEMA, "t.other.v1", TOPIC, 0), 9)  # another consumer's notice
    await store(db, key, 5)

    assert await asyncio.wait_for(waiting, NEVER_S) is True
    assert read.count == 1


async def test_an_offset_already_applied_returns_after_one_read(db):
    key = PositionKey(SCHEMA, "t.done.v1", TOPIC, 1)
    await store(db, key, 7)
    before = reads_of(key.consumer)

    applied = await applied_within(db, key, 6)

    assert applied is True
    assert reads_of(key.consumer) - before == 1


async def test_a_waiter_times_out_when_the_offset_is_not_applied(db):
    key = PositionKey(SCHEMA, "t.late.v1", TOPIC, 0)
    await store(db, key, 3)

    applied = await applied_within(db, key, 3, timeout_s=0.2, poll_s=0.05)

    assert applied is False


async def test_a_missed_notice_is_caught_by_the_fallback_read(db):
    key = PositionKey(SCHEMA, "t.missed.v1", TOPIC, 0)
    listener = listener_for(db)
    await listener.listening()
    read = CountedReads(db, key)
    waiting = asyncio.create_task(listener.wait(key, 0, read, timeout_s=NEVER_S, recheck_s=0.05))
    await read.first_done.wait()

    await store(db, key, 1, notify=False)

    assert await asyncio.wait_for(waiting, NEVER_S) is True
    assert read.count >= 2


async def test_the_listener_reconnects_after_its_connection_is_terminated(db):
    listener = listener_for(db)
    generation = await listener.listening()
    old_pid = listener.backend_pid
    async with db.connection() as conn:
        cur = await conn.execute("select pg_terminate_backend(%s)", (old_pid,))
        assert (await cur.fetchone())[0] is True

    await asyncio.wait_for(listener.listening(newer_than=generation), NEVER_S)
    assert listener.backend_pid not in (None, old_pid)

    key = PositionKey(SCHEMA, "t.reconnected.v1", TOPIC, 0)
    read = CountedReads(db, key)
    waiting = asyncio.create_task(listener.wait(key, 0, read, timeout_s=NEVER_S, recheck_s=NEVER_S))
    await read.first_done.wait()
    await store(db, key, 1)
    assert await asyncio.wait_for(waiting, NEVER_S) is True
    assert read.count == 1


async def backend_gone(pool, pid: int) -> bool:
    # A closed client's backend leaves pg_stat_activity a moment after the socket closes.
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute("select count(*) from pg_stat_activity where pid = %s", (pid,))
            if (await cur.fetchone())[0] == 0:
                return True
        await asyncio.sleep(0.05)


async def test_closing_the_listener_closes_its_connection(fresh_database_dsn):
    pool = AsyncConnectionPool(fresh_database_dsn, open=False, kwargs={"autocommit": True})
    await pool.open()
    try:
        listener = listener_for(pool)
        await listener.listening()
        pid = listener.backend_pid
        await close_listener(pool)
        assert not listener.running
        assert await asyncio.wait_for(backend_gone(pool, pid), NEVER_S)
    finally:
        await pool.close()


async def test_the_runner_notifies_the_position_it_stores(db, kafka_bootstrap, fresh_topics):
    producer = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await producer.start()

    async def ignore(conn, event):
        return None

    runner = runner_on(
        "t.runner.v1", kafka_bootstrap, fresh_topics, db, producer, schema=SCHEMA, handler=ignore
    )
    try:
        await listener_for(db).listening()
        position = await producer.publish(comment("AAAA-0001", "hello"))
        before = reads_of(runner.name)
        waiting = asyncio.create_task(
            applied_within(
                db, PositionKey(SCHEMA, runner.name, position.topic, position.partition), position.offset
            )
        )
        await runner.start()
        running = asyncio.create_task(runner.run())
        try:
            assert await asyncio.wait_for(waiting, NEVER_S) is True
        finally:
            await runner.stop()
            await asyncio.wait_for(running, 10)
        assert reads_of(runner.name) - before == 1
    finally:
        await producer.stop()
