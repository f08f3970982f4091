"""The one place that wires the gateway: the pool, both producers, the vault, the two consumers of its view, and the
ports of the write side (POST requests, POST servicerequestupdates), built once per process.

`bootstrap(settings, ...)` takes the adapters as optional parameters, so tests pass their own through the real
wiring, and returns the running `Gateway`; `close()` stops what it started and closes what it opened.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from civicloop_events.consumer import ConsumerRunner, Handler, wait_until_applied
from civicloop_events.outbox import Sweeper
from civicloop_events.producer import EventProducer, Position
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_runtime.consumers import consumer_runner
from civicloop_runtime.db import open_pool
from civicloop_runtime.ops import Check, service_checks
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway import database
from civicloop_gateway.adapters.catalogue_admin_postgres import PostgresCatalogueView
from civicloop_gateway.adapters.postgres_view import apply_config_event, request_event_handler
from civicloop_gateway.adapters.submit_kafka import ProducerEventLog, ResidentVault
from civicloop_gateway.adapters.submit_postgres import (
    PostgresCatalogue,
    PostgresJurisdictions,
    PostgresPartners,
    PostgresRequests,
    PostgresRequestView,
    PostgresSubmissions,
    PostgresUpdates,
)
from civicloop_gateway.service_layer.post_update import UpdateContext
from civicloop_gateway.service_layer.submit_request import SubmitContext
from civicloop_gateway.settings import SCHEMA, GatewaySettings, JurisdictionsMode


@dataclass
class Gateway:
    """A running gateway's open resources; consumer runners are made fresh each time (a stopped one cannot restart)."""

    settings: GatewaySettings
    pool: AsyncConnectionPool
    producer: EventProducer
    config_producer: EventProducer
    vault: ResidentKeyVault
    supervisors: list[ConsumerSupervisor] = field(default_factory=list)
    sweeper: Sweeper | None = None
    owned: list[object] = field(default_factory=list)
    # The ports of the write side and of the catalogue admin API, built once from the above (`__post_init__`).
    submit: SubmitContext = field(init=False)
    update: UpdateContext = field(init=False)
    catalogue_view: PostgresCatalogueView = field(init=False)
    catalogue_log: ProducerEventLog = field(init=False)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __post_init__(self) -> None:
        self.submit = self.submit_context()
        self.update = self.update_context()
        self.catalogue_view = PostgresCatalogueView(
            self.pool,
            schema=SCHEMA,
            consumer=self.settings.config_consumer_group,
            topic=self.settings.topics.jurisdiction_config,
            timeout_s=self.settings.read_your_writes_timeout_s,
        )
        self.catalogue_log = ProducerEventLog(
            self.config_producer, publish_timeout_s=self.settings.publish_timeout_s
        )

    def request_runner(self) -> ConsumerRunner:
        return self._runner(
            self.settings.request_consumer_group,
            self.settings.topics.request_events,
            request_event_handler(resolution=self.settings.public_h3_resolution),
        )

    def config_runner(self) -> ConsumerRunner:
        return self._runner(
            self.settings.config_consumer_group, self.settings.topics.jurisdiction_config, apply_config_event
        )

    def _runner(self, name: str, topic: str, handler: Handler) -> ConsumerRunner:
        return consumer_runner(
            self.settings,
            name=name,
            topic=topic,
            handler=handler,
            pool=self.pool,
            producer=self.producer,
            schema=SCHEMA,
        )

    def start_consumers(self) -> None:
        self.supervisors = [ConsumerSupervisor(self.request_runner), ConsumerSupervisor(self.config_runner)]
        for supervisor in self.supervisors:
            supervisor.start()

    async def stop_consumers(self) -> None:
        await asyncio.gather(*(s.stop() for s in self.supervisors))
        self.supervisors = []

    async def wait_for_request_view(self, position: Position, *, timeout_s: float | None = None) -> bool:
        """Read-your-writes: wait (bounded) until the request view has applied the event at `position`."""
        return await wait_until_applied(
            self.pool,
            schema=SCHEMA,
            consumer=self.settings.request_consumer_group,
            topic=position.topic,
            partition=position.partition,
            offset=position.offset,
            timeout_s=self.settings.read_your_writes_timeout_s if timeout_s is None else timeout_s,
        )

    async def wait_for_config_view(self, position: Position, *, timeout_s: float | None = None) -> bool:
        """Read-your-writes for catalogue and partner changes."""
        return await wait_until_applied(
            self.pool,
            schema=SCHEMA,
            consumer=self.settings.config_consumer_group,
            topic=position.topic,
            partition=position.partition,
            offset=position.offset,
            timeout_s=self.settings.read_your_writes_timeout_s if timeout_s is None else timeout_s,
        )

    def readiness_checks(self) -> dict[str, Check]:
        return service_checks(
            self.pool,
            migrations_current=lambda: database.is_current(self.settings.sqlalchemy_url),
            kafka_connected=lambda: self.producer.connected and self.config_producer.connected,
            consumers=self.supervisors,
        )

    def submit_context(self) -> SubmitContext:
        """The ports of POST requests (PR-01..PR-12)."""
        s = self.settings
        return SubmitContext(
            partners=PostgresPartners(self.pool),
            jurisdictions=self._jurisdictions(),
            catalogue=PostgresCatalogue(self.pool),
            submissions=PostgresSubmissions(self.pool),
            vault=ResidentVault(self.vault),
            event_log=self._event_log(),
            pepper=s.pepper,
            dedup_window=s.dedup_window,
            default_phone_region=s.default_phone_region,
            request_view=self._request_view(),
            on_the_log=PostgresRequests(self.pool),
        )

    def update_context(self) -> UpdateContext:
        """The ports of POST servicerequestupdates (FX-10)."""
        return UpdateContext(
            partners=PostgresPartners(self.pool),
            jurisdictions=self._jurisdictions(),
            requests=PostgresRequests(self.pool),
            submissions=PostgresSubmissions(self.pool),
            updates=PostgresUpdates(self.pool),
            event_log=self._event_log(),
            pepper=self.settings.pepper,
            request_view=self._request_view(),
        )

    def _jurisdictions(self) -> PostgresJurisdictions:
        return PostgresJurisdictions(
            self.pool,
            single=self.settings.jurisdictions_mode is JurisdictionsMode.single,
            default_jurisdiction_id=self.settings.default_jurisdiction_id,
        )

    def _request_view(self) -> PostgresRequestView:
        return PostgresRequestView(
            self.pool,
            schema=SCHEMA,
            consumer=self.settings.request_consumer_group,
            topic=self.settings.topics.request_events,
            timeout_s=self.settings.read_your_writes_timeout_s,
        )

    def _event_log(self) -> ProducerEventLog:
        return ProducerEventLog(self.producer, publish_timeout_s=self.settings.publish_timeout_s)

    async def close(self) -> None:
        if self.sweeper is not None:
            await self.sweeper.stop()
        await self.stop_consumers()
        await _close_all(self.owned)
        self.owned = []


async def _close_all(resources: list[object]) -> None:
    for resource in reversed(resources):
        if isinstance(resource, EventProducer):
            await resource.stop()
        elif isinstance(resource, AsyncConnectionPool):
            await resource.close()


def pending_sweeper(
    pool: AsyncConnectionPool, producer: EventProducer, settings: GatewaySettings, *, older_than_s: float
) -> Sweeper:
    """Publishes partners' submissions and updates left pending (`civicloop_events.outbox`)."""
    return Sweeper(
        [PostgresSubmissions(pool), PostgresUpdates(pool)],
        ProducerEventLog(producer, publish_timeout_s=settings.publish_timeout_s),
        older_than=timedelta(seconds=older_than_s),
    )


async def bootstrap(
    settings: GatewaySettings,
    *,
    pool: AsyncConnectionPool | None = None,
    producer: EventProducer | None = None,
    config_producer: EventProducer | None = None,
    vault: ResidentKeyVault | None = None,
    run_consumers: bool = True,
) -> Gateway:
    """Open what was not given (the gateway closes only what it opened), then start the view's consumers."""
    owned: list[object] = []
    gateway: Gateway | None = None
    topics = settings.topics
    try:
        if pool is None:
            pool = await open_pool(
                settings.pg_dsn,
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                name="civicloop-gateway",
            )
            owned.append(pool)
        if producer is None:
            producer = EventProducer(
                settings.kafka_bootstrap, topics.request_events, client_id="civicloop-gateway"
            )
            await producer.start()
            owned.append(producer)
        if config_producer is None:
            config_producer = EventProducer(
                settings.kafka_bootstrap, topics.jurisdiction_config, client_id="civicloop-gateway-config"
            )
            await config_producer.start()
            owned.append(config_producer)
        gateway = Gateway(
            settings=settings,
            pool=pool,
            producer=producer,
            config_producer=config_producer,
            vault=vault or ResidentKeyVault(pool, pepper=settings.pepper),
            owned=owned,
        )
        if run_consumers:
            gateway.start_consumers()
        gateway.sweeper = pending_sweeper(
            pool, gateway.producer, settings, older_than_s=settings.sweep_pending_after_s
        )
        gateway.sweeper.start(timedelta(seconds=settings.sweep_every_s))
    except BaseException:
        if gateway is not None:
            await gateway.close()
        else:
            await _close_all(owned)
        raise
    return gateway
