"""Wires outbound sending: the config fold and the dispatcher (two consumers) and the sender loop.

Runs as its own process (`civicloop-gateway outbound run`) or inside the HTTP app's lifespan when
`CIVICLOOP_OUTBOUND_IN_APP=true`. Several processes may run it at once: the consumers share their groups' partitions
and the sender loops skip each other's locked rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from civicloop_events import Event
from civicloop_events.consumer import ConsumerRunner, Handler
from civicloop_events.payloads import SendMethod
from civicloop_events.producer import EventProducer
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_runtime.consumers import consumer_runner
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.outbound.dispatcher import Dispatcher
from civicloop_gateway.outbound.email_sender import EmailSender
from civicloop_gateway.outbound.ports import Sender
from civicloop_gateway.outbound.sender_loop import SenderLoop
from civicloop_gateway.outbound.settings import OutboundSettings
from civicloop_gateway.outbound.store import apply_outbound_config_event
from civicloop_gateway.outbound.webhook_sender import WebhookSender
from civicloop_gateway.settings import SCHEMA


def default_senders(settings: OutboundSettings, pool: AsyncConnectionPool) -> dict[SendMethod, Sender]:
    """Email, webhook and Open311 (which keeps batch tokens and external references in the pool's database)."""
    # Imported here: the Open311 client's package builds on this module's settings and ports.
    from civicloop_gateway.outbound.open311.service import open311_sender

    senders: dict[SendMethod, Sender] = {
        SendMethod.email: EmailSender(settings),
        SendMethod.webhook: WebhookSender(timeout_s=settings.outbound_send_timeout_s),
        SendMethod.open311: open311_sender(settings, pool),
    }
    return {method: sender for method, sender in senders.items() if method in settings.outbound_methods}


@dataclass
class Outbound:
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
