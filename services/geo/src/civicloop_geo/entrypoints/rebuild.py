"""Rebuild geo's read model from the log: empty its tables and positions, replay both topics from offset 0.

The service areas and categories are folded from the configuration topic as the consumer folds them. The requests'
rows and decisions are folded from the request topic without deciding anything again: each decision is read from
geo's own reaction on the log (`domain/replay.py`), so nothing is geocoded and nothing is published. The cluster
sweep's memory of announced clusters (`geo.clusters`) is left as it is: it holds each cluster's exact centre, which
the log does not carry (`ClusterDetected` has the public cell only).

A rebuild replays up to where the log ended when it began; later events are applied by the consumers when they next
run. It refuses while geo's consumers run, and consumers started meanwhile wait for it (`adapters/consumer_lock.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from civicloop_events.consumer import read_positions
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_events.topics import partition_extents

from civicloop_geo.adapters.consumer_lock import consumers_lock_exclusive
from civicloop_geo.bootstrap import Geo
from civicloop_geo.settings import SCHEMA

Progress = Callable[[int, int], None]
TABLES = ("requests", "decisions", "service_areas", "services")
WORK_TABLES = ("replay_pending",)  # the rebuild's own, emptied with the others


class ConsumersStillRunning(RuntimeError):
    """A rebuild would race live consumers of the same groups."""


async def rebuild(geo: Geo, *, on_progress: Progress | None = None, poll_s: float = 0.2) -> dict[str, int]:
    """Replay both topics into empty tables; returns the row count of each rebuilt table."""
    async with consumers_lock_exclusive(geo.settings.pg_dsn) as alone:
        if not alone:
            raise ConsumersStillRunning("geo's consumers are running: stop them before rebuilding")
        return await _replay_from_zero(geo, on_progress, poll_s)


async def _replay_from_zero(geo: Geo, on_progress: Progress | None, poll_s: float) -> dict[str, int]:
    s = geo.settings
    targets = {
        (s.requests_consumer_name, s.topics.request_events): await partition_extents(
            s.kafka_bootstrap, s.topics.request_events
        ),
        (s.config_consumer_name, s.topics.jurisdiction_config): await partition_extents(
            s.kafka_bootstrap, s.topics.jurisdiction_config
        ),
    }
    total = sum(end - start for extents in targets.values() for start, end in extents.values())
    async with geo.pool.connection() as conn, conn.transaction():
        await conn.execute(f"truncate {', '.join(f'{SCHEMA}.{t}' for t in (*TABLES, *WORK_TABLES))}")
        names = [s.requests_consumer_name, s.config_consumer_name]
        await conn.execute(f"delete from {SCHEMA}.inbox where consumer = any(%s)", (names,))
        await conn.execute(f"delete from {SCHEMA}.consumer_positions where consumer = any(%s)", (names,))
    # Unguarded: this rebuild holds the consumers' lock exclusively on their behalf.
    supervisors = [ConsumerSupervisor(geo.replay_runner), ConsumerSupervisor(geo.config_runner)]
    for supervisor in supervisors:
        supervisor.start()
    try:
        while True:
            done = await _replayed(geo, targets)
            if on_progress:
                on_progress(done, total)
            if done >= total:
                break
            await asyncio.sleep(poll_s)
    finally:
        await asyncio.gather(*(supervisor.stop() for supervisor in supervisors))
    async with geo.pool.connection() as conn:
        counts = {}
        for table in TABLES:
            cur = await conn.execute(f"select count(*) from {SCHEMA}.{table}")
            row = await cur.fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts


async def _replayed(geo: Geo, targets: dict[tuple[str, str], dict[int, tuple[int, int]]]) -> int:
    done = 0
    async with geo.pool.connection() as conn:
        for (consumer, topic), extents in targets.items():
            positions = await read_positions(conn, SCHEMA, consumer, topic)
            for partition, (start, end) in extents.items():
                done += max(0, min(positions.get(partition, start), end) - start)
    return done
