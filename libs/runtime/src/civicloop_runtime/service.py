"""What every running service shares: the resources its bootstrap opened, its consumers, its readiness and its close.

A service's running object is a dataclass that subclasses `Service`, naming its migrated `schemas`. Its
`bootstrap(settings, ...)` opens what the caller did not pass onto `opening()`'s exit stack (closed again at once if
the bootstrap fails half-way, else by `close`), and hands its consumers to `own_consumers`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import ClassVar, Protocol

from civicloop_events.consumer import ConsumerRunner
from civicloop_events.outbox import Sweeper
from civicloop_events.tasks import cancel_and_wait
from psycopg_pool import AsyncConnectionPool

from civicloop_runtime.consumers import ServiceConsumers
from civicloop_runtime.migrations import Schemas, all_current
from civicloop_runtime.ops import Check, Supervised, service_checks
from civicloop_runtime.settings import ServiceSettings

log = logging.getLogger("civicloop.runtime.service")


class KafkaClient(Protocol):
    async def reachable(self) -> bool:
        """A broker answers the client now (asked, not remembered: an idle client's connections go stale)."""
        ...


@asynccontextmanager
async def opening() -> AsyncIterator[AsyncExitStack]:
    """The exit stack a bootstrap opens its resources on; closed here only when the bootstrap fails."""
    opened = AsyncExitStack()
    try:
        yield opened
    except BaseException:
        await opened.aclose()
        raise


@dataclass(kw_only=True)
class Service:
    """A running service: `opened` holds what its bootstrap opened and started, `consumers` its Kafka consumers."""

    # The service's (schema, Alembic script location) pairs: /readyz asks that each is at head.
    schemas: ClassVar[Schemas]
    settings: ServiceSettings
    pool: AsyncConnectionPool | None
    consumers: ServiceConsumers | None = None
    opened: AsyncExitStack = field(default_factory=AsyncExitStack)

    def own_consumers(self, consumers: ServiceConsumers, *, start: bool = True) -> None:
        """Keep `consumers` (stopped by `close`), started unless `start` is False."""
        self.consumers = consumers
        self.opened.push_async_callback(consumers.stop)
        if start:
            consumers.start()

    def keep_sweeping(self, sweeper: Sweeper, *, every_s: float) -> Sweeper:
        """Run the outboxes' pending `sweeper` every `every_s` seconds (stopped by `close`)."""
        self.opened.push_async_callback(sweeper.stop)
        sweeper.start(timedelta(seconds=every_s))
        return sweeper

    def runner(self, name: str) -> ConsumerRunner:
        """A fresh runner of the consumer `name`, for a test or a one-off catch-up."""
        if self.consumers is None:
            raise RuntimeError("consumers need the producer: bootstrap(settings, producer=...)")
        return self.consumers.runner(name)

    def kafka_clients(self) -> Sequence[KafkaClient]:
        """The Kafka clients /readyz asks are connected (none by default)."""
        return ()

    def supervised(self) -> Sequence[Supervised]:
        """What /readyz asks is running: the consumers' supervisors."""
        return self.consumers.supervisors if self.consumers is not None else ()

    def readiness_checks(self) -> dict[str, Check]:
        if self.pool is None:
            return {}
        clients = self.kafka_clients()

        async def kafka_reachable() -> bool:
            answers = await asyncio.gather(*(c.reachable() for c in clients))
            return all(answers)

        return service_checks(
            self.pool,
            migrations_current=partial(all_current, self.settings.sqlalchemy_url, self.schemas),
            kafka_reachable=kafka_reachable if clients else None,
            consumers=self.supervised(),
        )

    async def close(self) -> None:
        """Stop what bootstrap started, then close what it opened (not what its caller passed in), within the
        settings' `shutdown_grace_s`: past it, the step still waiting is cancelled and the next one runs (an
        interrupted consumer transaction rolls back and is applied again by whoever takes the partition)."""
        closing = asyncio.create_task(self.opened.aclose())
        await asyncio.wait({closing}, timeout=self.settings.shutdown_grace_s)
        if closing.done():
            await closing
            return
        log.error(
            "not closed within the shutdown grace; letting go",
            extra={"grace_s": self.settings.shutdown_grace_s},
        )
        await cancel_and_wait(closing)
