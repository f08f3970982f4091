"""The one place that wires the outbound service: the pool, the producer, the vault (only when contact details are
sent), the senders, the two consumers of sending (the config fold, the dispatcher) with the sender loop, and the
Open311 client's background work (the `ExternalReferenceAssigned` fold and the poller).

`bootstrap(settings, ...)` takes every adapter as an optional parameter, so tests pass their own (a pool, fake
senders) through the real wiring, and returns the running `OutboundService`; `close()` stops what it started and
closes what it opened. The sender (`civicloop-outbound run`) runs the sending part; the Open311 poller
(`civicloop-outbound open311 run`) the polling part, as a single replica (the poller's rounds are not coordinated).

Several sender processes may run at once: the consumers share their groups' partitions and the sender loops skip
each other's locked rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from civicloop_events import Event
from civicloop_events.consumer import ConsumerRunner, Handler
from civicloop_events.payloads import SendMethod
from civicloop_events.producer import EventProducer
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_runtime.consumers import consumer_runner
from civicloop_runtime.db import open_pool
from civicloop_runtime.ops import Check, service_checks
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound import database
from civicloop_outbound.adapters.email_sender import EmailSender
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollerConfig, fold_external_reference
from civicloop_outbound.adapters.open311_sender import Open311Sender
from civicloop_outbound.adapters.webhook_sender import WebhookSender
from civicloop_outbound.domain.ports import Sender
from civicloop_outbound.service_layer.dispatcher import Dispatcher
from civicloop_outbound.service_layer.sender_loop import SenderLoop
from civicloop_outbound.service_layer.store import apply_outbound_config_event
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
    )


@dataclass
class Outbound:
    """Sending: the config fold and the dispatcher (two consumers) and the sender loop."""

    settings: OutboundSettings
    pool: AsyncConnectionPool
    producer: EventProducer
    vault: ResidentKeyVault | None
    senders: dict[SendMethod, Sender]
    supervisors: list[ConsumerSupervisor] = field(default_factory=list)
    loop: SenderLoop | None = None
    _task: asyncio.Task[None] | None = None

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

    def config_runner(self) -> ConsumerRunner:
        return self._runner(
            self.settings.outbound_config_consumer_group,
            self.settings.topics.jurisdiction_config,
            apply_outbound_config_event,
        )

    def dispatch_runner(self) -> ConsumerRunner:
        dispatcher = Dispatcher(self.producer, publish_timeout_s=self.settings.publish_timeout_s)

        async def handle(conn: Any, event: Event[Any]) -> None:
            await dispatcher(conn, event)
            if self.loop is not None:
                self.loop.wake()

        return self._runner(
            self.settings.outbound_dispatch_consumer_group, self.settings.topics.request_events, handle
        )

    def start(self, *, consumers: bool = True, sending: bool = True) -> None:
        if consumers:
            self.supervisors = [
                ConsumerSupervisor(self.config_runner),
                ConsumerSupervisor(self.dispatch_runner),
            ]
            for s in self.supervisors:
                s.start()
        if sending:
            self.loop = SenderLoop(
                pool=self.pool,
                producer=self.producer,
                senders=self.senders,
                settings=self.settings,
                vault=self.vault,
            )
            self._task = asyncio.create_task(self.loop.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.gather(*(s.stop() for s in self.supervisors))
        self.supervisors = []

    @property
    def running(self) -> bool:
        return all(s.running for s in self.supervisors) and (self._task is None or not self._task.done())


@dataclass
class Open311Background:
    """The Open311 client's background work: the `ExternalReferenceAssigned` fold (a consumer) and the poller."""

    settings: OutboundSettings
    pool: AsyncConnectionPool
    producer: EventProducer
    http: httpx.AsyncClient
    supervisors: list[ConsumerSupervisor] = field(default_factory=list)
    poller: Open311Poller | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def refs_runner(self) -> ConsumerRunner:
        s = self.settings
        return consumer_runner(
            s,
            name=s.open311_refs_consumer_group,
            topic=s.topics.request_events,
            handler=fold_external_reference,
            pool=self.pool,
            producer=self.producer,
            schema=SCHEMA,
        )

    def start(self, *, consumer: bool = True, polling: bool = True) -> None:
        if consumer:
            self.supervisors = [ConsumerSupervisor(self.refs_runner)]
            for s in self.supervisors:
                s.start()
        if polling:
            self.poller = Open311Poller(
                self.pool, self.producer, self.http, config=poller_config(self.settings)
            )
            self._task = asyncio.create_task(
                self.poller.run_forever(self._stop, tick_s=self.settings.open311_tick_s)
            )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.gather(*(s.stop() for s in self.supervisors))
        self.supervisors = []

    @property
    def running(self) -> bool:
        return all(s.running for s in self.supervisors) and (self._task is None or not self._task.done())


@dataclass
class OutboundService:
    """A running outbound process: what it runs (sending, polling) and the resources it opened (closed by `close`)."""

    settings: OutboundSettings
    pool: AsyncConnectionPool
    producer: EventProducer
    http: httpx.AsyncClient
    sending: Outbound | None = None
    polling: Open311Background | None = None
    _owned: list[object] = field(default_factory=list)

    def open311_poller(self) -> Open311Poller:
        """A poller for one round or one import, beside (or without) the running one."""
        return Open311Poller(self.pool, self.producer, self.http, config=poller_config(self.settings))

    def readiness_checks(self) -> dict[str, Check]:
        parts = [p for p in (self.sending, self.polling) if p is not None]
        return service_checks(
            self.pool,
            migrations_current=lambda: database.is_current(self.settings.sqlalchemy_url),
            kafka_connected=lambda: self.producer.connected,
            consumers=[s for p in parts for s in p.supervisors],
        )

    async def close(self) -> None:
        for part in (self.sending, self.polling):
            if part is not None:
                await part.stop()
        await _close_all(self._owned)
        self._owned = []


async def _close_all(resources: list[object]) -> None:
    for resource in reversed(resources):
        if isinstance(resource, EventProducer):
            await resource.stop()
        elif isinstance(resource, httpx.AsyncClient):
            await resource.aclose()
        elif isinstance(resource, AsyncConnectionPool):
            await resource.close()


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
) -> OutboundService:
    """Open what was not given, then start `sending` (consumers and sender loop) and/or `polling` (Open311).

    `http` is the Open311 poller's client (the senders keep their own, with the send timeout)."""
    owned: list[object] = []
    service: OutboundService | None = None
    try:
        if pool is None:
            pool = await open_pool(
                settings.pg_dsn,
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                name=SERVICE,
            )
            owned.append(pool)
        if producer is None:
            producer = EventProducer(
                settings.kafka_bootstrap, settings.topics.request_events, client_id=SERVICE
            )
            await producer.start()
            owned.append(producer)
        if http is None:
            http = http_client(settings.open311_http_timeout_s)
            owned.append(http)
        service = OutboundService(settings=settings, pool=pool, producer=producer, http=http, _owned=owned)
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
            service.sending.start()
        if polling:
            service.polling = Open311Background(settings=settings, pool=pool, producer=producer, http=http)
            service.polling.start()
    except BaseException:
        if service is not None:
            await service.close()
        else:
            await _close_all(owned)
        raise
    return service
