"""Wires the Open311 client's background work: the `ExternalReferenceAssigned` fold (a consumer) and the poller.

`civicloop-gateway open311 run` runs both; the sender itself runs inside the outbound sender loop
(`senders[SendMethod.open311] = open311_sender(settings, pool)`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from civicloop_events.consumer import ConsumerRunner
from civicloop_events.producer import EventProducer
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_runtime.consumers import consumer_runner
from civicloop_runtime.settings import ServiceSettings
from psycopg_pool import AsyncConnectionPool
from pydantic import Field

from civicloop_gateway.outbound.open311.polling import Open311Poller, PollerConfig, fold_external_reference
from civicloop_gateway.outbound.open311.sender import Open311Sender
from civicloop_gateway.outbound.settings import OutboundSettings
from civicloop_gateway.settings import SCHEMA

REFS_CONSUMER = "gateway.open311-refs.v1"


class Open311ClientSettings(ServiceSettings):
    """The client's background settings (`CIVICLOOP_` prefix). No vault pepper: nothing personal is read here."""

    open311_refs_consumer_name: str = REFS_CONSUMER
    open311_http_timeout_s: float = Field(default=30.0, gt=0, description="timeout of one call to a back-end")
    open311_tick_s: float = Field(default=5.0, gt=0, description="how often the poller looks for due work")
    open311_overlap_s: float = Field(
        default=300.0,
        ge=0,
        description="each poll re-reads this much before the last window's end (late-written updates)",
    )
    open311_token_max_attempts: int = Field(default=12, ge=1, description="token polls before giving up")
    open311_token_backoff_initial_s: float = Field(default=2.0, gt=0)
    open311_token_backoff_max_s: float = Field(default=900.0, gt=0)
    open311_import_fallback_service_code: str | None = Field(
        default=None, description="our category for an imported request no mapping matches (unset: skip it)"
    )
    open311_import_history_days: int = Field(
        default=0, ge=0, description="how far back the first import poll looks (0: one mop-up window)"
    )

    @property
    def open311_refs_consumer_group(self) -> str:
        return self.topic_prefix + self.open311_refs_consumer_name

    def poller_config(self) -> PollerConfig:
        return PollerConfig(
            overlap=timedelta(seconds=self.open311_overlap_s),
            token_max_attempts=self.open311_token_max_attempts,
            token_backoff_initial_s=self.open311_token_backoff_initial_s,
            token_backoff_max_s=self.open311_token_backoff_max_s,
            import_fallback_service_code=self.open311_import_fallback_service_code,
            import_history_days=self.open311_import_history_days,
        )


def http_client(timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)


def open311_sender(
    settings: OutboundSettings, pool: AsyncConnectionPool, http: httpx.AsyncClient | None = None
) -> Open311Sender:
    """The `open311` method's sender for the outbound sender loop."""
    return Open311Sender(pool, http or http_client(settings.outbound_send_timeout_s))


@dataclass
class Open311Background:
    settings: Open311ClientSettings
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
                self.pool, self.producer, self.http, config=self.settings.poller_config()
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
