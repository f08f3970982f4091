"""geo's background work besides its consumers: waiting for the configuration to be folded, the cluster sweep loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from civicloop_events import Event
from civicloop_events.consumer import read_positions
from civicloop_events.tasks import cancel_and_wait, raise_if_cancelled
from civicloop_events.topics import partition_extents
from psycopg_pool import AsyncConnectionPool

from civicloop_geo.adapters.clusters import PostgresClusterStore
from civicloop_geo.service_layer.cluster_sweep import ClusterPolicy, sweep
from civicloop_geo.service_layer.ports import EventPublisher
from civicloop_geo.settings import SCHEMA

log = logging.getLogger("civicloop.geo")

# One sweep at a time across replicas: a transaction-scoped advisory lock, released by the commit.
SWEEP_LOCK_KEY = 0x6765_6F5F_636C  # "geo_cl"


@contextlib.asynccontextmanager
async def config_caught_up(
    pool: AsyncConnectionPool,
    *,
    bootstrap_servers: str,
    topic: str,
    consumer: str,
    timeout_s: float = 120.0,
    poll_s: float = 0.2,
) -> AsyncIterator[None]:
    """Wait until the configuration consumer has applied the config topic as it stood when this began.

    Requests and configuration are separate topics with no order between them: without this, a fresh start (or a
    replay) could place requests before the service areas are folded and flag them all outside the jurisdiction.
    After `timeout_s` it goes on regardless (a stuck config consumer must not stop placing forever) and says so.
    """
    ends = {
        p: end
        for p, (start, end) in (await partition_extents(bootstrap_servers, topic)).items()
        if end > start
    }
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                async with pool.connection() as conn:
                    done = await read_positions(conn, SCHEMA, consumer, topic)
                if all(done.get(p, 0) >= end for p, end in ends.items()):
                    break
                await asyncio.sleep(poll_s)
    except TimeoutError:
        log.warning("configuration not caught up; placing requests anyway", extra={"timeout_s": timeout_s})
    yield


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
