"""Rebuild every projection from the log: empty the tables, forget the positions, replay from offset 0.

A rebuild replays up to where the log ended when it began; events published meanwhile are applied by the consumers
when they next run. It refuses while consumers run (they would keep their positions in memory and race the reset),
and consumers started during a rebuild wait for it (see `adapters/consumer_lock.py`). To rebuild without downtime
instead, deploy a new version of the consumer groups (`projections.agent.v2`): it starts with no positions and
replays into tables migrated for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from civicloop_events.consumer import read_positions
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_events.topics import partition_extents
from psycopg_pool import AsyncConnectionPool

from civicloop_projections.adapters import tables
from civicloop_projections.adapters.consumer_lock import consumers_lock_exclusive
from civicloop_projections.bootstrap import Projections
from civicloop_projections.settings import SCHEMA, ProjectionSettings

Progress = Callable[[int, int], None]


class ConsumersStillRunning(RuntimeError):
    """A rebuild would race live consumers of the same groups."""


async def rebuild(
    projections: Projections, *, on_progress: Progress | None = None, poll_s: float = 0.2
) -> dict[str, int]:
    """Replay both topics into empty tables; returns the row count of each projection table."""
    s = projections.settings
    async with consumers_lock_exclusive(s.pg_dsn, SCHEMA) as alone:
        if not alone:
            raise ConsumersStillRunning(
                f"consumers of schema {SCHEMA!r} are running: stop them before rebuilding"
            )
        return await _replay_from_zero(projections, on_progress, poll_s)


async def _replay_from_zero(
    projections: Projections, on_progress: Progress | None, poll_s: float
) -> dict[str, int]:
    s = projections.settings
    groups = [s.agent_consumer_name, s.catalogue_consumer_name]
    targets = {
        (s.agent_consumer_name, s.topics.request_events): await partition_extents(
            s.kafka_bootstrap, s.topics.request_events
        ),
        (s.catalogue_consumer_name, s.topics.jurisdiction_config): await partition_extents(
            s.kafka_bootstrap, s.topics.jurisdiction_config
        ),
    }
    total = sum(end - start for extents in targets.values() for start, end in extents.values())

    async with projections.pool.connection() as conn:
        await tables.reset(conn, groups)
    async with _replay_pool(s) as pool:
        replaying = projections.consumers_on(
            pool,
            s.model_copy(
                update={
                    "consumer_batch_max_records": s.rebuild_batch_max_records,
                    "consumer_batch_max_ms": s.rebuild_batch_max_ms,
                }
            ),
        )
        # Unguarded: this rebuild holds the consumers' lock exclusively on their behalf.
        supervisors = [ConsumerSupervisor(partial(replaying.runner, group)) for group in groups]
        for supervisor in supervisors:
            supervisor.start()
        try:
            while True:
                done = await _replayed(projections, targets)
                if on_progress:
                    on_progress(done, total)
                if done >= total:
                    break
                await asyncio.sleep(poll_s)
        finally:
            await asyncio.gather(*(supervisor.stop() for supervisor in supervisors))
    async with projections.pool.connection() as conn:
        return await tables.row_counts(conn)


@asynccontextmanager
async def _replay_pool(s: ProjectionSettings) -> AsyncIterator[AsyncConnectionPool]:
    """The replay's connections commit without waiting for the WAL flush (`synchronous_commit = off`).

    A rebuild needs no durability per batch: should the machine die, the last batches' commits may be lost, and
    the rebuild, which starts from empty tables and offset 0 every time, is simply run again. The effect, the inbox
    rows and the position still commit together, so a replay is exactly-once whatever survives.
    """
    async with AsyncConnectionPool(
        s.pg_dsn,
        min_size=1,
        max_size=4,
        open=False,
        name="civicloop-projections-rebuild",
        kwargs={
            "autocommit": True,
            "application_name": "civicloop-projections-rebuild",
            "options": "-c synchronous_commit=off",
        },
    ) as pool:
        yield pool


async def _replayed(
    projections: Projections, targets: dict[tuple[str, str], dict[int, tuple[int, int]]]
) -> int:
    done = 0
    async with projections.pool.connection() as conn:
        for (consumer, topic), extents in targets.items():
            positions = await read_positions(conn, SCHEMA, consumer, topic)
            for partition, (start, end) in extents.items():
                done += max(0, min(positions.get(partition, start), end) - start)
    return done
