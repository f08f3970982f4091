"""The one place that wires the gateway: the pool, both producers, the vault and the two consumers of its view."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from civicloop_events.consumer import ConsumerRunner, Handler, wait_until_applied
from civicloop_events.outbox import Sweeper
from civicloop_events.outbox_kafka import ProducerEventLog
from civicloop_events.producer import EventProducer, Position
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_runtime.consumers import consumer_runner
from civicloop_runtime.db import open_pool
from civicloop_runtime.ops import Check, service_checks
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway import database
from civicloop_gateway.adapters.postgres_view import apply_config_event, request_event_handler
from civicloop_gateway.adapters.submit_postgres import PostgresSubmissions, PostgresUpdates
from civicloop_gateway.settings import SCHEMA, GatewaySettings


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
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

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

    async def close(self) -> None:
        if self.sweeper is not None:
            await self.sweeper.stop()
        await self.stop_consumers()
        await self.producer.stop()
        await self.config_producer.stop()
        await self.pool.close()


def pending_sweeper(
    pool: AsyncConnectionPool, producer: EventProducer, settings: GatewaySettings, *, older_than_s: float
) -> Sweeper:
    """Publishes partners' submissions and updates left pending (`civicloop_events.outbox`)."""
    return Sweeper(
        [PostgresSubmissions(pool), PostgresUpdates(pool)],
        ProducerEventLog(producer, publish_timeout_s=settings.publish_timeout_s),
        older_than=timedelta(seconds=older_than_s),
    )


async def start_gateway(settings: GatewaySettings, *, run_consumer: bool = True) -> Gateway:
    pool = await open_pool(
        settings.pg_dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        name="civicloop-gateway",
    )
    topics = settings.topics
    gateway = Gateway(
        settings=settings,
        pool=pool,
        producer=EventProducer(
            settings.kafka_bootstrap, topics.request_events, client_id="civicloop-gateway"
        ),
        config_producer=EventProducer(
            settings.kafka_bootstrap, topics.jurisdiction_config, client_id="civicloop-gateway-config"
        ),
        vault=ResidentKeyVault(pool, pepper=settings.pepper),
    )
    try:
        await gateway.producer.start()
        await gateway.config_producer.start()
        if run_consumer:
            gateway.start_consumers()
        gateway.sweeper = pending_sweeper(
            pool, gateway.producer, settings, older_than_s=settings.sweep_pending_after_s
        )
        gateway.sweeper.start(timedelta(seconds=settings.sweep_every_s))
    except BaseException:
        await gateway.close()
        raise
    return gateway
