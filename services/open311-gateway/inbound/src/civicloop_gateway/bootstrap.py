"""The one place that wires the gateway: the pool, both producers, the vault, the two consumers of its view, and the
ports of the write side (POST requests, POST servicerequestupdates), built once per process.

`bootstrap(settings, ...)` takes the adapters as optional parameters, so tests pass their own through the real
wiring, and returns the running `Gateway`: what a caller passes stays the caller's to close, what it leaves out is
opened here and closed by `Gateway.close()`, with the consumers and the sweeper it started.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from civicloop_events.breaker import GuardedEventLog, LogBreaker
from civicloop_events.consumer import wait_until_applied
from civicloop_events.outbox import EventLog, Sweeper
from civicloop_events.producer import EventProducer, Position
from civicloop_runtime.consumers import ConsumerSpec, Guard, ServiceConsumers
from civicloop_runtime.rebuild import consumers_lock_shared
from civicloop_runtime.resources import owned_pool, owned_producer
from civicloop_runtime.service import KafkaClient, Service, opening
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway import database
from civicloop_gateway.adapters.catalogue_admin_postgres import PostgresCatalogueView
from civicloop_gateway.adapters.open311_queries import KnownJurisdictions, Open311View
from civicloop_gateway.adapters.postgres_view import apply_config_events, request_event_handler
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

SERVICE = "civicloop-gateway"
# The advisory lock the view's consumers share and a rebuild takes alone.
CONSUMERS_LOCK = f"gateway.consumers:{SCHEMA}"


@dataclass(kw_only=True)
class Gateway(Service):
    """A running gateway's open resources; consumer runners are made fresh each time (a stopped one cannot restart)."""

    schemas = database.SCHEMAS
    settings: GatewaySettings
    pool: AsyncConnectionPool
    producer: EventProducer
    config_producer: EventProducer
    vault: ResidentKeyVault
    sweeper: Sweeper | None = None
    # The ports of the write side and of the catalogue admin API, and the view GETs read, built once from the above
    # (`__post_init__`); reads and writes share what is known of the jurisdictions.
    known_jurisdictions: KnownJurisdictions = field(init=False)
    read_view: Open311View = field(init=False)
    submit: SubmitContext = field(init=False)
    update: UpdateContext = field(init=False)
    catalogue_view: PostgresCatalogueView = field(init=False)
    catalogue_log: ProducerEventLog = field(init=False)
    log_breaker: LogBreaker = field(init=False)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __post_init__(self) -> None:
        self.log_breaker = LogBreaker(open_s=self.settings.event_log_breaker_open_s, name="gateway")
        self.known_jurisdictions = KnownJurisdictions(self.pool)
        self.read_view = Open311View(self.pool, jurisdictions=self.known_jurisdictions)
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

    def consumer_specs(self) -> list[ConsumerSpec]:
        """The view's two consumers, each holding the consumers' lock while it runs (no rebuild meanwhile)."""
        return view_consumer_specs(self.settings, guard=self.consumers_lock)

    def consumers_lock(self) -> AbstractAsyncContextManager[None]:
        return consumers_lock_shared(self.settings.pg_dsn, CONSUMERS_LOCK)

    async def wait_for_request_view(self, position: Position, *, timeout_s: float | None = None) -> bool:
        """Read-your-writes: wait (bounded) until the request view has applied the event at `position`."""
        return await self._wait_applied(self.settings.request_consumer_group, position, timeout_s)

    async def wait_for_config_view(self, position: Position, *, timeout_s: float | None = None) -> bool:
        """Read-your-writes for catalogue and partner changes."""
        return await self._wait_applied(self.settings.config_consumer_group, position, timeout_s)

    async def _wait_applied(self, consumer: str, position: Position, timeout_s: float | None) -> bool:
        return await wait_until_applied(
            self.pool,
            schema=SCHEMA,
            consumer=consumer,
            topic=position.topic,
            partition=position.partition,
            offset=position.offset,
            timeout_s=self.settings.read_your_writes_timeout_s if timeout_s is None else timeout_s,
        )

    def kafka_clients(self) -> Sequence[KafkaClient]:
        return (self.producer, self.config_producer)

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
            sender_retry_window=s.sender_retry_window,
            default_phone_region=s.default_phone_region,
            request_view=self._request_view(),
            # PostgresSubmissions.add refuses a number a request on the log has, in its own round trip.
            on_the_log=None,
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
            known=self.known_jurisdictions,
        )

    def _request_view(self) -> PostgresRequestView:
        return PostgresRequestView(
            self.pool,
            schema=SCHEMA,
            consumer=self.settings.request_consumer_group,
            topic=self.settings.topics.request_events,
            timeout_s=self.settings.read_your_writes_timeout_s,
        )

    def _event_log(self) -> EventLog:
        """Behind the breaker: during a broker outage, partners' POSTs are answered 503 at once."""
        return GuardedEventLog(
            ProducerEventLog(self.producer, publish_timeout_s=self.settings.publish_timeout_s),
            self.log_breaker,
        )


def view_consumer_specs(settings: GatewaySettings, *, guard: Guard | None = None) -> list[ConsumerSpec]:
    """The view's two consumers, each folding a batch of events per transaction: the requests (with the public
    place's H3 resolution) and the catalogue."""
    s = settings
    return [
        ConsumerSpec(
            s.request_consumer_group,
            s.topics.request_events,
            guard=guard,
            batch_handler=request_event_handler(resolution=s.public_h3_resolution),
        ),
        ConsumerSpec(
            s.config_consumer_group,
            s.topics.jurisdiction_config,
            guard=guard,
            batch_handler=apply_config_events,
        ),
    ]


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
    start_consumers: bool = True,
) -> Gateway:
    """A running gateway; with `start_consumers`, its view is being folded from the log. The sweeper always runs."""
    topics = settings.topics
    async with opening() as opened:
        if pool is None:
            pool = await owned_pool(settings, opened, name=SERVICE)
        if producer is None:
            producer = await owned_producer(settings, opened, topic=topics.request_events, client_id=SERVICE)
        if config_producer is None:
            config_producer = await owned_producer(
                settings, opened, topic=topics.jurisdiction_config, client_id=f"{SERVICE}-config"
            )
        gateway = Gateway(
            settings=settings,
            pool=pool,
            producer=producer,
            config_producer=config_producer,
            vault=vault or ResidentKeyVault(pool, pepper=settings.pepper),
            opened=opened,
        )
        if start_consumers:
            gateway.own_consumers(
                ServiceConsumers(
                    settings, pool=pool, schema=SCHEMA, dead_letters=producer, specs=gateway.consumer_specs()
                )
            )
        gateway.sweeper = gateway.keep_sweeping(
            pending_sweeper(pool, producer, settings, older_than_s=settings.sweep_pending_after_s),
            every_s=settings.sweep_every_s,
        )
    return gateway
