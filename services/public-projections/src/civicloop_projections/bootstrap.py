"""The one place that wires adapters: the pool, the dead-letter producer and the two consumer runners."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import psycopg
from civicloop_events import Event
from civicloop_events.consumer import ConsumerRunner, Handler
from civicloop_events.producer import EventProducer
from civicloop_runtime.consumers import consumer_runner
from civicloop_runtime.db import open_pool
from psycopg_pool import AsyncConnectionPool

from civicloop_projections.adapters.agent_store import PostgresAgentViewStore
from civicloop_projections.adapters.catalogue_store import PostgresCatalogueStore
from civicloop_projections.adapters.consumer_lock import consumers_lock_shared
from civicloop_projections.service_layer.handlers import (
    when_jurisdiction_config_changes_update_catalogue,
    when_request_event_update_agent_view,
)
from civicloop_projections.settings import SCHEMA, ProjectionSettings


@dataclass
class Projections:
    """The process's open resources; runners are made fresh each time (a stopped Kafka consumer cannot restart)."""

    settings: ProjectionSettings
    pool: AsyncConnectionPool
    producer: EventProducer | None = None

    def consumers_lock(self) -> AbstractAsyncContextManager[None]:
        """Held by running consumers; a rebuild cannot start while any is held."""
        return consumers_lock_shared(self.settings.pg_dsn, SCHEMA)

    def agent_runner(self) -> ConsumerRunner:
        name = self.settings.agent_consumer_name

        async def handle(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
            await when_request_event_update_agent_view(PostgresAgentViewStore(conn, consumer=name), event)

        return self._runner(name, self.settings.topics.request_events, handle)

    def catalogue_runner(self) -> ConsumerRunner:
        async def handle(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
            await when_jurisdiction_config_changes_update_catalogue(PostgresCatalogueStore(conn), event)

        return self._runner(
            self.settings.catalogue_consumer_name, self.settings.topics.jurisdiction_config, handle
        )

    def _runner(self, name: str, topic: str, handler: Handler) -> ConsumerRunner:
        if self.producer is None:
            raise RuntimeError("consumers need the dead-letter producer: bootstrap(..., with_consumers=True)")
        return consumer_runner(
            self.settings,
            name=name,
            topic=topic,
            handler=handler,
            pool=self.pool,
            producer=self.producer,
            schema=SCHEMA,
        )

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
        await self.pool.close()


async def bootstrap(settings: ProjectionSettings, *, with_consumers: bool) -> Projections:
    pool = await open_pool(
        settings.pg_dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        name="civicloop-projections",
    )
    producer = None
    if with_consumers:
        producer = EventProducer(
            settings.kafka_bootstrap, settings.topics.dead_letters, client_id="civicloop-projections"
        )
        try:
            await producer.start()
        except BaseException:
            await pool.close()
            raise
    return Projections(settings=settings, pool=pool, producer=producer)
