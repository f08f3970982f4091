"""The one place that wires selfheal's adapters: the pool, the producer, intake's client, the consumers of its view
and its own sweep schedule.

`bootstrap(settings, ...)` takes its adapters as parameters: what a caller passes is used as it is (and stays the
caller's to close), what it leaves out is built from the settings (and closed by `Selfheal.close`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from civicloop_events import Event
from civicloop_events.envelope import new_event_id
from civicloop_events.producer import EventProducer
from civicloop_events.tasks import cancel_and_wait, raise_if_cancelled
from civicloop_runtime.consumers import ConsumerSpec, ServiceConsumers
from civicloop_runtime.resources import owned_pool, owned_producer
from civicloop_runtime.service import Service, opening
from psycopg_pool import AsyncConnectionPool

from civicloop_selfheal import database
from civicloop_selfheal.adapters.dead_letters import KafkaDeadLetters
from civicloop_selfheal.adapters.intake_http import HttpIntakeOutboxes
from civicloop_selfheal.adapters.kafka_publisher import KafkaEventPublisher
from civicloop_selfheal.adapters.metrics import count_busy, count_run
from civicloop_selfheal.adapters.postgres_sweep import PostgresSweepStore, sweep_lock
from civicloop_selfheal.adapters.postgres_view import PostgresViewStore
from civicloop_selfheal.domain.runs import RunReport, Trigger
from civicloop_selfheal.service_layer.folds import (
    when_config_changes_update_bodies_and_sla,
    when_request_events_update_view,
)
from civicloop_selfheal.service_layer.ports import IntakeOutboxes
from civicloop_selfheal.service_layer.sweep import SweepDeps, run_sweep
from civicloop_selfheal.settings import CRON_TOKEN_REF, SCHEMA, SelfhealSettings

log = logging.getLogger("civicloop.selfheal")


@dataclass(kw_only=True)
class Selfheal(Service):
    """A running selfheal: its view's consumers, its sweep (`sweep_now`) and, with a schedule, its timer."""

    schemas = database.SCHEMAS
    settings: SelfhealSettings
    pool: AsyncConnectionPool
    producer: EventProducer
    intake: IntakeOutboxes | None = None
    schedule: asyncio.Task[None] | None = None
    # A caller arriving while this process sweeps is answered at once, without a connection of the pool.
    sweeping: asyncio.Lock = field(default_factory=asyncio.Lock)

    def kafka_clients(self) -> Sequence[EventProducer]:
        return (self.producer,)

    def deps(self) -> SweepDeps:
        settings = self.settings
        return SweepDeps(
            store=PostgresSweepStore(
                self.pool, runs_kept=timedelta(days=self.settings.selfheal_runs_kept_days)
            ),
            publisher=KafkaEventPublisher(
                self.producer, settings.topics, timeout_s=settings.publish_timeout_s
            ),
            dead_letters=KafkaDeadLetters(
                self.pool,
                self.producer,
                bootstrap_servers=settings.kafka_bootstrap,
                topic=settings.topics.dead_letters,
            ),
            intake=self.intake,
            policy=settings.sweep_policy(),
        )

    async def sweep_now(
        self, trigger: Trigger, *, staff_id: str | None = None, now: datetime | None = None
    ) -> RunReport | None:
        """One sweep, recorded and counted; None at once when another sweep (of any replica) is running."""
        if self.sweeping.locked():
            count_busy(trigger.value)
            return None
        async with self.sweeping, sweep_lock(self.pool) as held:
            if not held:
                count_busy(trigger.value)
                return None
            started = now or datetime.now(UTC)
            report = RunReport(run_id=new_event_id(), trigger=trigger, started_at=started, staff_id=staff_id)
            report = await run_sweep(self.deps(), report, now=started)
        count_run(report)
        return report

    def sweep_every(self, every_s: float) -> None:
        """The own schedule: a sweep every `every_s` seconds (a replica finding the lock held skips its turn)."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(every_s)
                try:
                    await self.sweep_now(Trigger.schedule)
                except Exception as exc:
                    raise_if_cancelled(exc)
                    log.exception("scheduled sweep failed; next attempt at the next interval")

        self.schedule = asyncio.create_task(loop(), name="selfheal-schedule")

        async def stop() -> None:
            await cancel_and_wait(self.schedule)

        self.opened.push_async_callback(stop)


async def bootstrap(
    settings: SelfhealSettings,
    *,
    pool: AsyncConnectionPool | None = None,
    producer: EventProducer | None = None,
    intake: IntakeOutboxes | None = None,
    start_consumers: bool = True,
) -> Selfheal:
    """With `start_consumers`, the view is folded and, with `CIVICLOOP_SELFHEAL_EVERY_S` above 0, swept on schedule."""
    async with opening() as opened:
        pool = pool or await owned_pool(settings, opened, name="civicloop-selfheal")
        if producer is None:
            producer = await owned_producer(
                settings, opened, topic=settings.topics.request_events, client_id="civicloop-selfheal"
            )
        if intake is None and settings.selfheal_intake_url:
            client = httpx.AsyncClient(
                base_url=settings.selfheal_intake_url, timeout=settings.selfheal_intake_timeout_s
            )
            opened.push_async_callback(client.aclose)
            intake = HttpIntakeOutboxes(client, cron_token_ref=CRON_TOKEN_REF)
        service = Selfheal(settings=settings, pool=pool, producer=producer, intake=intake, opened=opened)
        service.own_consumers(_consumers(service), start=start_consumers)
        if start_consumers and settings.selfheal_every_s > 0:
            service.sweep_every(settings.selfheal_every_s)
    return service


def _consumers(service: Selfheal) -> ServiceConsumers:
    settings = service.settings

    async def update_view(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await when_request_events_update_view(PostgresViewStore(conn), events)

    async def update_bodies_and_sla(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await when_config_changes_update_bodies_and_sla(PostgresViewStore(conn), event)

    return ServiceConsumers(
        settings,
        pool=service.pool,
        schema=SCHEMA,
        dead_letters=service.producer,
        specs=[
            ConsumerSpec(
                name=settings.requests_consumer_name,
                topic=settings.topics.request_events,
                batch_handler=update_view,
            ),
            ConsumerSpec(
                settings.config_consumer_name, settings.topics.jurisdiction_config, update_bodies_and_sla
            ),
        ],
    )
