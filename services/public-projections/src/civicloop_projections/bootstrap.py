"""The one place that wires the projections' adapters: the pool, the dead-letter producer and the two consumers.

`bootstrap(settings, ...)` takes its adapters as parameters: what a caller passes is used as it is (and stays the
caller's to close), what it leaves out is built from the settings (and closed by `Projections.close`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from civicloop_events import Event
from civicloop_events.consumer import ConsumerRunner
from civicloop_events.producer import EventProducer
from civicloop_events.request_index import index_request_events
from civicloop_runtime.consumers import ConsumerSpec, ServiceConsumers
from civicloop_runtime.rebuild import consumers_lock_shared
from civicloop_runtime.resources import owned_pool, owned_producer
from civicloop_runtime.service import Service, opening
from psycopg_pool import AsyncConnectionPool

from civicloop_projections import database
from civicloop_projections.adapters.agent_store import PostgresAgentViewStore
from civicloop_projections.adapters.catalogue_store import PostgresCatalogueStore
from civicloop_projections.adapters.public_store import PostgresPublicRequestStore
from civicloop_projections.adapters.sla_store import PostgresSlaStore
from civicloop_projections.service_layer.handlers import (
    when_jurisdiction_config_changes_update_catalogue,
    when_request_events_update_agent_view,
)
from civicloop_projections.service_layer.public_handlers import when_request_events_update_public_view
from civicloop_projections.service_layer.sla_handlers import (
    when_request_events_update_sla,
    when_sla_defined_update_sla,
)
from civicloop_projections.settings import SCHEMA, ProjectionSettings

# The advisory lock the consumers share and a rebuild takes alone (its key, unchanged since it was per service).
CONSUMERS_LOCK = f"projections.consumers:{SCHEMA}"


@dataclass(kw_only=True)
class Projections(Service):
    """A running projections process: its pool and, where it has a producer, its consumers."""

    schemas = database.SCHEMAS
    settings: ProjectionSettings
    pool: AsyncConnectionPool
    dead_letters: EventProducer | None = None

    def consumers_lock(self) -> AbstractAsyncContextManager[None]:
        """Held by running consumers; a rebuild cannot start while any is held."""
        return consumers_lock_shared(self.settings.pg_dsn, CONSUMERS_LOCK)

    def agent_runner(self) -> ConsumerRunner:
        return self.runner(self.settings.agent_consumer_name)

    def catalogue_runner(self) -> ConsumerRunner:
        return self.runner(self.settings.catalogue_consumer_name)

    def consumers_on(self, pool: AsyncConnectionPool, settings: ProjectionSettings) -> ServiceConsumers:
        """The same consumers on another pool and with other consumer settings (a rebuild's replay)."""
        if self.dead_letters is None:
            raise RuntimeError("consumers need the producer: bootstrap(settings, producer=...)")
        return _consumers(replace(self, settings=settings, pool=pool), self.dead_letters)


async def bootstrap(
    settings: ProjectionSettings,
    *,
    pool: AsyncConnectionPool | None = None,
    producer: EventProducer | None = None,
    start_consumers: bool = True,
) -> Projections:
    """With `start_consumers`, both views are being folded from the log (each consumer holding the consumers'
    lock, so no rebuild meanwhile); without, the read API only (a producer passed in still makes the runners)."""
    async with opening() as opened:
        pool = pool or await owned_pool(settings, opened, name="civicloop-projections")
        if producer is None and start_consumers:
            producer = await owned_producer(
                settings, opened, topic=settings.topics.dead_letters, client_id="civicloop-projections"
            )
        projections = Projections(settings=settings, pool=pool, opened=opened, dead_letters=producer)
        if producer is not None:
            projections.own_consumers(_consumers(projections, producer), start=start_consumers)
    return projections


def _consumers(projections: Projections, producer: EventProducer) -> ServiceConsumers:
    settings, name = projections.settings, projections.settings.agent_consumer_name

    async def update_agent_view(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await when_request_events_update_agent_view(PostgresAgentViewStore(conn, consumer=name), events)

    async def update_catalogue(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await when_jurisdiction_config_changes_update_catalogue(PostgresCatalogueStore(conn), event)

    return ServiceConsumers(
        settings,
        pool=projections.pool,
        schema=SCHEMA,
        dead_letters=producer,
        specs=[
            ConsumerSpec(
                name,
                settings.topics.request_events,
                batch_handler=update_agent_view,
                guard=projections.consumers_lock,
            ),
            ConsumerSpec(
                settings.catalogue_consumer_name,
                settings.topics.jurisdiction_config,
                update_catalogue,
                projections.consumers_lock,
            ),
            *_sla_consumers(projections),
            _public_consumer(projections),
            _request_index_consumer(projections),
        ],
    )


def _public_consumer(projections: Projections) -> ConsumerSpec:
    """The public read model: its own group on the request topic, folding nothing personal (docs/public.md)."""

    async def update_public_view(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await when_request_events_update_public_view(PostgresPublicRequestStore(conn), events)

    return ConsumerSpec(
        projections.settings.public_consumer_name,
        projections.settings.topics.request_events,
        batch_handler=update_public_view,
        guard=projections.consumers_lock,
    )


def _request_index_consumer(projections: Projections) -> ConsumerSpec:
    """Where each request's events stand on the log, for the auditors' replay (`civicloop_events.request_index`)."""
    settings = projections.settings
    name, topic = settings.request_index_consumer_name, settings.topics.request_events

    async def index(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await index_request_events(conn, schema=SCHEMA, consumer=name, topic=topic, events=events)

    return ConsumerSpec(name, topic, batch_handler=index, guard=projections.consumers_lock)


def _sla_consumers(projections: Projections) -> list[ConsumerSpec]:
    """The SLA read model: requests' clocks from the request topic, definitions from the configuration topic."""
    settings = projections.settings

    async def update_sla(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await when_request_events_update_sla(PostgresSlaStore(conn), events)

    async def define_sla(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await when_sla_defined_update_sla(PostgresSlaStore(conn), event)

    return [
        ConsumerSpec(
            settings.sla_consumer_name,
            settings.topics.request_events,
            batch_handler=update_sla,
            guard=projections.consumers_lock,
        ),
        ConsumerSpec(
            settings.sla_definitions_consumer_name,
            settings.topics.jurisdiction_config,
            define_sla,
            projections.consumers_lock,
        ),
    ]
