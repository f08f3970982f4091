"""A service's consumers, built the same way everywhere from its settings and kept running by supervisors.

A service lists its consumers as `ConsumerSpec`s (name, topic, handler, optional guard); `ServiceConsumers` builds
each runner with the consumer settings of `ServiceSettings` (attempts, back-off, session timeout, batch bounds,
dead-letter topic) and keeps it running with a `ConsumerSupervisor`. The consumer group is the spec's name behind the
topic prefix, so a test's prefix isolates its groups the way it isolates its topics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import TypeAlias

from civicloop_events.consumer import BatchHandler, ConsumerRunner, Handler
from civicloop_events.producer import EventProducer
from civicloop_events.supervisor import ConsumerSupervisor
from psycopg_pool import AsyncConnectionPool

from civicloop_runtime.settings import ServiceSettings

Guard: TypeAlias = Callable[[], AbstractAsyncContextManager[object]]
# The dead-letter producer, or how to wait for it (a service that starts while the broker is away connects later).
DeadLetters: TypeAlias = EventProducer | Callable[[], Awaitable[EventProducer]]


def consumer_runner(
    settings: ServiceSettings,
    *,
    name: str,
    topic: str,
    handler: Handler | None = None,
    batch_handler: BatchHandler | None = None,
    pool: AsyncConnectionPool,
    producer: EventProducer,
    schema: str,
    on_committed: Callable[[], None] | None = None,
) -> ConsumerRunner:
    """`handler` (or `batch_handler`) applied exactly once per event of `topic`, in `schema`'s inbox; poison goes to
    the dead letters."""
    return ConsumerRunner(
        name=name,
        bootstrap_servers=settings.kafka_bootstrap,
        topic=topic,
        dead_letter_topic=settings.topics.dead_letters,
        pool=pool,
        schema=schema,
        handler=handler,
        batch_handler=batch_handler,
        producer=producer,
        max_attempts=settings.consumer_max_attempts,
        backoff_initial_s=settings.consumer_backoff_initial_s,
        backoff_max_s=settings.consumer_backoff_max_s,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        batch_max_records=settings.consumer_batch_max_records,
        batch_max_ms=settings.consumer_batch_max_ms,
        batch_linger_ms=settings.consumer_batch_linger_ms,
        on_committed=on_committed,
    )


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer of a service: `handler` applied to `topic` under the group `name`, one event per call, or
    `batch_handler`, a batch's events per call (exactly one of the two).

    `guard` is held while the runner runs (a lock that keeps a rebuild out, a wait for another consumer);
    `on_committed` is called after each batch of applied events commits (to wake what reads their rows)."""

    name: str
    topic: str
    handler: Handler | None = None
    guard: Guard | None = None
    on_committed: Callable[[], None] | None = None
    batch_handler: BatchHandler | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError(f"consumer {self.name!r} takes exactly one of handler and batch_handler")


class ServiceConsumers:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        pool: AsyncConnectionPool,
        schema: str,
        dead_letters: DeadLetters,
        specs: Sequence[ConsumerSpec],
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.schema = schema
        self.specs = tuple(specs)
        self._dead_letters = dead_letters
        self._producer = dead_letters if isinstance(dead_letters, EventProducer) else None
        self.supervisors: list[ConsumerSupervisor] = []

    def runner(self, name: str) -> ConsumerRunner:
        """A fresh runner of the consumer named `name` (a stopped Kafka consumer cannot restart)."""
        [spec] = [s for s in self.specs if s.name == name]
        if self._producer is None:
            raise RuntimeError("the dead-letter producer is not connected yet")
        return consumer_runner(
            self.settings,
            name=spec.name,
            topic=spec.topic,
            handler=spec.handler,
            batch_handler=spec.batch_handler,
            pool=self.pool,
            producer=self._producer,
            schema=self.schema,
            on_committed=spec.on_committed,
        )

    def start(self) -> None:
        self.supervisors = [
            ConsumerSupervisor(partial(self.runner, spec.name), guard=self._guard(spec))
            for spec in self.specs
        ]
        for supervisor in self.supervisors:
            supervisor.start()

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop() for s in self.supervisors))
        self.supervisors = []

    @property
    def running(self) -> bool:
        return bool(self.supervisors) and all(s.running for s in self.supervisors)

    def _guard(self, spec: ConsumerSpec) -> Guard:
        own = spec.guard or nullcontext

        @asynccontextmanager
        async def guard() -> AsyncIterator[None]:
            if self._producer is None and not isinstance(self._dead_letters, EventProducer):
                self._producer = await self._dead_letters()  # waits for the broker the first time
            async with own():
                yield

        return guard
