"""What the consumer-runner and read-your-writes tests share: a database with a consumer's tables, an event, a wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from civicloop_events import Actor, CommentAdded, Event
from civicloop_events.applied import PositionKey, close_listener
from civicloop_events.consumer import (
    BatchHandler,
    ConsumerRunner,
    Handler,
    consumer_tables_ddl,
    wait_until_applied,
)
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from psycopg_pool import AsyncConnectionPool

NEVER_S = 60.0  # a fallback interval or timeout a woken waiter must never reach


@asynccontextmanager
async def consumer_database(dsn: str, schema: str, *ddl: str) -> AsyncIterator[AsyncConnectionPool]:
    """A pool on `dsn` with `schema`'s inbox and position tables (and `ddl`), its position listener closed after."""
    pool = AsyncConnectionPool(dsn, open=False, kwargs={"autocommit": True})
    await pool.open()
    async with pool.connection() as conn:
        await conn.execute(f"create schema {schema}")
        for statement in [*consumer_tables_ddl(schema), *ddl]:
            await conn.execute(statement)
    try:
        yield pool
    finally:
        await close_listener(pool)
        await pool.close()


def comment(number: str, text: str) -> Event[CommentAdded]:
    """An agent's comment on request `number`."""
    return Event.create(
        CommentAdded(text=text),
        request_id=number,
        jurisdiction_id="demo",
        actor=Actor(kind="agent", id="a1"),
        source="agent",
    )


async def applied_within(
    pool: AsyncConnectionPool,
    key: PositionKey,
    offset: int,
    *,
    timeout_s: float = NEVER_S,
    poll_s: float = NEVER_S,
) -> bool:
    """`wait_until_applied` for `offset` of the partition `key` names."""
    return await wait_until_applied(
        pool,
        schema=key.schema,
        consumer=key.consumer,
        topic=key.topic,
        partition=key.partition,
        offset=offset,
        timeout_s=timeout_s,
        poll_s=poll_s,
    )


def runner_on(
    name: str,
    kafka_bootstrap: str,
    topics: Topics,
    pool: AsyncConnectionPool,
    producer: EventProducer,
    *,
    schema: str,
    handler: Handler | None = None,
    batch_handler: BatchHandler | None = None,
    **settings: Any,
) -> ConsumerRunner:
    """A runner of `handler` (or `batch_handler`) over the test's request topic, dead-lettering to its dead-letter
    topic."""
    return ConsumerRunner(
        name=name,
        bootstrap_servers=kafka_bootstrap,
        topic=topics.request_events,
        dead_letter_topic=topics.dead_letters,
        pool=pool,
        schema=schema,
        handler=handler,
        batch_handler=batch_handler,
        producer=producer,
        **settings,
    )
