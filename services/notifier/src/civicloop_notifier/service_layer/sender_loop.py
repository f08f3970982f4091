"""The sender loop: workers that each claim one due message at a time (`for update skip locked`, so several
workers and several processes never take the same one) and send it inside that message's transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.service_layer.ports import MessagesStore
from civicloop_notifier.service_layer.sending import SendingDeps, send_one

log = logging.getLogger("civicloop.notifier.sender")

OUTCOMES = Counter("civicloop_notifier_messages_total", "Messages handled by the sender", ["result"])


class SenderLoop:
    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        store_for: Callable[[psycopg.AsyncConnection[Any]], MessagesStore],
        deps: SendingDeps,
        concurrency: int,
        poll_interval_s: float,
    ) -> None:
        self.pool = pool
        self.store_for = store_for
        self.deps = deps
        self.concurrency = concurrency
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """New messages were committed: idle workers look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Workers end once their current send is recorded (`run` then returns): no message is cut half-way."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Run `concurrency` workers until `stop`."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(self._worker())

    async def _worker(self) -> None:
        while not self._stopping:
            try:
                handled = await self.send_next()
            except (psycopg.Error, OSError, TimeoutError) as exc:  # database or broker away: wait, look again
                log.warning("sending paused", extra={"error": type(exc).__name__})
                handled = False
            except (
                Exception
            ) as exc:  # a bug must not stop every worker: the message's transaction rolled back
                log.exception("sending failed", extra={"error": type(exc).__name__})
                handled = False
            if not handled and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval_s):
                        await self._wake.wait()

    async def send_next(self) -> bool:
        """Claim and send one due message; False when none is due."""
        async with self.pool.connection() as conn, conn.transaction():
            store = self.store_for(conn)
            message = await store.claim_due(self.deps.clock())
            if message is None:
                return False
            result = await send_one(store, message, self.deps)
        OUTCOMES.labels(result).inc()
        return True

    async def drain(self) -> int:
        """Send every due message now, one after another (for commands and tests); returns how many."""
        count = 0
        while await self.send_next():
            count += 1
        return count
