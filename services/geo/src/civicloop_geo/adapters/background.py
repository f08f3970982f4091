"""geo's background work besides its consumers: the cluster sweep loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from civicloop_events import Event
from civicloop_events.tasks import cancel_and_wait, raise_if_cancelled
from psycopg_pool import AsyncConnectionPool

from civicloop_geo.adapters.clusters import PostgresClusterStore
from civicloop_geo.service_layer.cluster_sweep import ClusterPolicy, sweep
from civicloop_geo.service_layer.ports import EventPublisher

log = logging.getLogger("civicloop.geo")

# One sweep at a time across replicas: a transaction-scoped advisory lock, released by the commit.
SWEEP_LOCK_KEY = 0x6765_6F5F_636C  # "geo_cl"


async def sweep_once(
    pool: AsyncConnectionPool,
    publisher: EventPublisher,
    policy: ClusterPolicy,
    *,
    now: datetime | None = None,
) -> list[Event[Any]] | None:
    """One sweep in one transaction; None when another replica is sweeping."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute("select pg_try_advisory_xact_lock(%s)", (SWEEP_LOCK_KEY,))
        row = await cur.fetchone()
        if not (row and row[0]):
            return None
        return await sweep(PostgresClusterStore(conn), publisher, policy, now=now or datetime.now(UTC))


class ClusterSweeper:
    """Runs `sweep_once` every `interval_s`; a failed sweep is logged and tried again next time."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        publisher: EventPublisher,
        policy: ClusterPolicy,
        *,
        interval_s: float,
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.policy = policy
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self.last_success: datetime | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="geo-cluster-sweep")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await sweep_once(self.pool, self.publisher, self.policy)
                self.last_success = datetime.now(UTC)
            except Exception as exc:
                raise_if_cancelled(exc)
                log.exception("cluster sweep failed; next attempt at the next interval")
            await asyncio.sleep(self.interval_s)
