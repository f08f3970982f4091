"""The sender loop: workers that each claim one due message at a time (`for update skip locked`, so several
workers and several processes never take the same one) and send it inside that message's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.service_layer.polling_workers import PollingWorkers
from civicloop_notifier.service_layer.ports import MessagesStore
from civicloop_notifier.service_layer.sending import SendingDeps, send_one

log = logging.getLogger("civicloop.notifier.sender")

OUTCOMES = Counter("civicloop_notifier_messages_total", "Messages handled by the sender", ["result"])


class SenderLoop(PollingWorkers):
    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        store_for: Callable[[psycopg.AsyncConnection[Any]], MessagesStore],
        deps: SendingDeps,
        concurrency: int,
        poll_interval_s: float,
    ) -> None:
        super().__init__(poll_interval_s=poll_interval_s, concurrency=concurrency, log=log, what="sending")
        self.pool = pool
        self.store_for = store_for
        self.deps = deps

    async def step(self) -> bool:
        """Claim and send one due message; False when none is due."""
        async with self.pool.connection() as conn, conn.transaction():
            store = self.store_for(conn)
            message = await store.claim_due(self.deps.clock())
            if message is None:
                return False
            result = await send_one(store, message, self.deps)
        OUTCOMES.labels(result).inc()
        return True
