"""What a service's `bootstrap` opens from its settings when the caller did not pass it, closed with the service."""

from __future__ import annotations

from contextlib import AsyncExitStack

from civicloop_events.applied import close_listener
from civicloop_events.producer import EventProducer
from psycopg_pool import AsyncConnectionPool

from civicloop_runtime.db import open_pool
from civicloop_runtime.settings import ServiceSettings


async def owned_pool(settings: ServiceSettings, opened: AsyncExitStack, *, name: str) -> AsyncConnectionPool:
    """The service's PostgreSQL pool, closed when `opened` is."""
    pool = await open_pool(
        settings.pg_dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        name=name,
        timeout_s=settings.pool_timeout_s,
        max_waiting=settings.pool_max_waiting,
    )
    opened.push_async_callback(pool.close)
    opened.push_async_callback(close_listener, pool)  # the read-your-writes listener's connection, first
    return pool


async def owned_producer(
    settings: ServiceSettings, opened: AsyncExitStack, *, topic: str, client_id: str
) -> EventProducer:
    """A started producer onto `topic`, stopped when `opened` is."""
    producer = EventProducer(settings.kafka_bootstrap, topic, client_id=client_id)
    opened.push_async_callback(producer.stop)
    await producer.start()
    return producer
