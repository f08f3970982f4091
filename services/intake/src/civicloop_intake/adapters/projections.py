"""Intake's two views folded from the log, each a `ConsumerRunner` kept alive by a supervisor task.

A runner that fails (broker gone, group coordinator moved) is replaced by a new one after a pause; it resumes from
the positions stored with its writes, so nothing is skipped or applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from civicloop_events.consumer import ConsumerRunner, Handler
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters.kafka_event_log import KafkaEventLog

log = logging.getLogger("civicloop.intake.projections")

SCHEMA = "intake"
CATALOGUE_CONSUMER = "intake.catalogue.v1"


class SupervisedProjection:
    def __init__(
        self,
        *,
        name: str,
        topic: str,
        dead_letter_topic: str,
        handler: Handler,
        bootstrap_servers: str,
        pool: AsyncConnectionPool,
        event_log: KafkaEventLog,
        restart_after_s: float = 2.0,
    ) -> None:
        self.name = name
        self.topic = topic
        self.dead_letter_topic = dead_letter_topic
        self.handler = handler
        self.bootstrap_servers = bootstrap_servers
        self.pool = pool
        self.event_log = event_log
        self.restart_after_s = restart_after_s
        self._runner: ConsumerRunner | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"projection {self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def connected(self) -> bool:
        return self._runner is not None and self._runner.connected

    async def _supervise(self) -> None:
        while True:
            producer = await self.event_log.producer()
            runner = ConsumerRunner(
                name=self.name,
                bootstrap_servers=self.bootstrap_servers,
                topic=self.topic,
                dead_letter_topic=self.dead_letter_topic,
                pool=self.pool,
                schema=SCHEMA,
                handler=self.handler,
                producer=producer,
            )
            try:
                await runner.start()
                self._runner = runner
                await runner.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("projection stopped, restarting", extra={"consumer": self.name, "error": repr(exc)})
            finally:
                self._runner = None
                await runner.stop()
            await asyncio.sleep(self.restart_after_s)
