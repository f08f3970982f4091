"""The one place that wires the outbound service: the pool, the producer, the vault (only when contact details are
sent), the senders, the two consumers of sending (the config fold, the dispatcher) with the sender loop, and the
Open311 client's background work (the `ExternalReferenceAssigned` fold and the poller).

`bootstrap(settings, ...)` takes every adapter as an optional parameter, so tests pass their own (a pool, fake
senders) through the real wiring, and returns the running `OutboundService`; `close()` stops what it started and
closes what it opened (not what its caller passed in). `start_consumers=False` runs a part without its consumers. The sender (`civicloop-outbound run`) runs the sending part; the Open311 poller
(`civicloop-outbound open311 run`) the polling part, as a single replica (the poller's rounds are not coordinated).

Several sender processes may run at once: the consumers share their groups' partitions and the sender loops skip
each other's locked rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from civicloop_events.payloads import SendMethod
from civicloop_events.producer import EventProducer
from civicloop_runtime.config_first import config_caught_up
from civicloop_runtime.consumers import ConsumerSpec, ServiceConsumers
from civicloop_runtime.ops import Supervised
from civicloop_runtime.resources import owned_pool, owned_producer
from civicloop_runtime.service import KafkaClient, Service, opening
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound import database
from civicloop_outbound.adapters.email_sender import EmailSender
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollerConfig
from civicloop_outbound.adapters.open311_sender import Open311Sender
from civicloop_outbound.adapters.postgres_config import apply_outbound_config_event, fold_external_references
from civicloop_outbound.adapters.webhook_sender import WebhookSender
from civicloop_outbound.domain.ports import Sender
from civicloop_outbound.service_layer.dispatcher import Dispatcher
from civicloop_outbound.service_layer.sender_loop import SenderLoop
from civicloop_outbound.settings import SCHEMA, OutboundSettings

SERVICE = "civicloop-outbound"


def http_client(timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)


def open311_sender(
    settings: OutboundSettings, pool: AsyncConnectionPool, http: httpx.AsyncClient | None = None
) -> Open311Sender:
    """The `open311` method's sender for the outbound sender loop."""
    return Open311Sender(pool, http or http_client(settings.outbound_send_timeout_s))


def default_senders(settings: OutboundSettings, pool: AsyncConnectionPool) -> dict[SendMethod, Sender]:
    """Email, webhook and Open311 (which keeps batch tokens and external references in the pool's database)."""
    senders: dict[SendMethod, Sender] = {
        SendMethod.email: EmailSender(settings),
        SendMethod.webhook: WebhookSender(timeout_s=settings.outbound_send_timeout_s),
        SendMethod.open311: open311_sender(settings, pool),
    }
    return {method: sender for method, sender in senders.items() if method in settings.outbound_methods}


def poller_config(settings: OutboundSettings) -> PollerConfig:
    return PollerConfig(
        overlap=timedelta(seconds=settings.open311_overlap_s),
        token_max_attempts=settings.open311_token_max_attempts,
        token_backoff_initial_s=settings.open311_token_backoff_initial_s,
        token_backoff_max_s=settings.open311_token_backoff_max_s,
        import_fallback_service_code=settings.open311_import_fallback_service_code,
        import_history_days=settings.open311_import_history_days,
        streaks_topic=settings.topics.jurisdiction_config,
        poll_failing_after=settings.outbound_poll_failing_after,
        publish_timeout_s=settings.publish_timeout_s,
    )


@dataclass(kw_only=True)
class _Part:
    """A part of the outbound process: its consumers beside one task of its own (the sender loop, the poller)."""

    settings: OutboundSettings
    pool: AsyncConnectionPool
    producer: EventProducer
    consumers: ServiceConsumers | None = None
    _task: asyncio.Task[None] | None = None

    def consumer_specs(self) -> list[ConsumerSpec]:
        raise NotImplementedError

    def _start_consumers(self) -> None:
        self.consumers = ServiceConsumers(
            self.settings,
            pool=self.pool,
            schema=SCHEMA,
            dead_letters=self.producer,
            specs=self.consumer_specs(),
        )
        self.consumers.start()

    def _interrupt(self) -> None:
        """Tell the part's task to end (`stop` then waits for it)."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        self._interrupt()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.consumers is not None:
            await self.consumers.stop()

    @property
    def running(self) -> bool:
        consumers_up = self.consumers is None or self.consumers.running
        return consumers_up and (self._task is None or not self._task.done())


@dataclass(kw_only=True)
class Outbound(_Part):
    """Sending: the config fold and the dispatcher (two consumers) and the sender loop."""

    vault: ResidentKeyVault | None
    senders: dict[SendMethod, Sender]
    loop: SenderLoop | None = None

    def consumer_specs(self) -> list[ConsumerSpec]:
        """The config fold and the dispatcher, which wakes the sender loop for what it queued."""
        s = self.settings
        dispatcher = Dispatcher(self.producer, publish_timeout_s=s.publish_timeout_s)

        def wake_sender() -> None:  # after the commit, so the loop finds what the batch queued
            if self.loop is not None:
                self.loop.wake()

        return [
            ConsumerSpec(
                s.outbound_config_consumer_group, s.topics.jurisdiction_config, apply_outbound_config_event
            ),
            # Routing needs the bodies: the dispatcher starts once the configuration as it stood is folded.
            ConsumerSpec(
                s.outbound_dispatch_consumer_group,
                s.topics.request_events,
                batch_handler=dispatcher.dispatch,
                on_committed=wake_sender,
                guard=lambda: config_caught_up(
                    self.pool,
                    schema=SCHEMA,
                    bootstrap_servers=s.kafka_bootstrap,
                    topic=s.topics.jurisdiction_config,
                    consumer=s.outbound_config_consumer_group,
                ),
            ),
        ]

    def start(self, *, consumers: bool = True, sending: bool = True) -> None:
        if consumers:
            self._start_consumers()
        if sending:
            self.loop = SenderLoop(
                pool=self.pool,
                producer=self.producer,
                senders=self.senders,
                settings=self.settings,
                vault=self.vault,
            )
            self._task = asyncio.create_task(self.loop.run())


@dataclass(kw_only=True)
class Open311Background(_Part):
    """The Open311 client's background work: the `ExternalReferenceAssigned` fold (a consumer) and the poller."""

    http: httpx.AsyncClient
    poller: Open311Poller | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def consumer_specs(self) -> list[ConsumerSpec]:
        s = self.settings
        return [
            ConsumerSpec(
                s.open311_refs_consumer_group, s.topics.request_events, batch_handler=fold_external_references
            )
        ]

    def start(self, *, consumer: bool = True, polling: bool = True) -> None:
        if consumer:
            self._start_consumers()
        if polling:
            self.poller = Open311Poller(
                self.pool, self.producer, self.http, config=poller_config(self.settings)
            )
            self._task = asyncio.create_task(
                self.poller.run_forever(self._stop, tick_s=self.settings.open311_tick_s)
            )

    def _interrupt(self) -> None:
        self._stop.set()  # the poller ends its round, then returns


@dataclass(kw_only=True)
class OutboundService(Service):
    """A running outbound process: what it runs (sending, polling) and the resources it opened (closed by `close`)."""

    schemas = database.SCHEMAS
    settings: OutboundSettings
    pool: AsyncConnectionPool
    producer: EventProducer
    http: httpx.AsyncClient
    sending: Outbound | None = None
    polling: Open311Background | None = None

    def open311_poller(self) -> Open311Poller:
        """A poller for one round or one import, beside (or without) the running one."""
        return Open311Poller(self.pool, self.producer, self.http, config=poller_config(self.settings))

    def kafka_clients(self) -> Sequence[KafkaClient]:
        return (self.producer,)

    def supervised(self) -> Sequence[Supervised]:
        """The consumers' supervisors of the parts it runs."""
        parts = [p for p in (self.sending, self.polling) if p is not None]
        return [s for p in parts if p.consumers is not None for s in p.consumers.supervisors]


async def bootstrap(
    settings: OutboundSettings,
    *,
    pool: AsyncConnectionPool | None = None,
    producer: EventProducer | None = None,
    vault: ResidentKeyVault | None = None,
    senders: Mapping[SendMethod, Sender] | None = None,
    http: httpx.AsyncClient | None = None,
    sending: bool = True,
    polling: bool = False,
    start_consumers: bool = True,
) -> OutboundService:
    """Open what was not given, then start `sending` (consumers and sender loop) and/or `polling` (Open311).

    `http` is the Open311 poller's client (the senders keep their own, with the send timeout)."""
    async with opening() as opened:
        if pool is None:
            pool = await owned_pool(settings, opened, name=SERVICE)
        if producer is None:
            producer = await owned_producer(
                settings, opened, topic=settings.topics.request_events, client_id=SERVICE
            )
        if http is None:
            http = http_client(settings.open311_http_timeout_s)
            opened.push_async_callback(http.aclose)
        service = OutboundService(settings=settings, pool=pool, producer=producer, http=http, opened=opened)
        if sending:
            if vault is None and settings.outbound_include_contact:
                vault = ResidentKeyVault(pool, pepper=settings.pepper)
            service.sending = Outbound(
                settings=settings,
                pool=pool,
                producer=producer,
                vault=vault,
                senders=dict(senders) if senders is not None else default_senders(settings, pool),
            )
            opened.push_async_callback(service.sending.stop)
            service.sending.start(consumers=start_consumers)
        if polling:
            service.polling = Open311Background(settings=settings, pool=pool, producer=producer, http=http)
            opened.push_async_callback(service.polling.stop)
            service.polling.start(consumer=start_consumers)
    return service
