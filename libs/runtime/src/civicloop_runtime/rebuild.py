"""What every read model's `rebuild` shares: the lock that keeps a rebuild and the live consumers apart, the replay
of (consumer, topic) pairs from offset 0 to where the log ended when it began, and the pool it replays on.

Every running consumer holds a shared advisory lock on a connection of its own; a rebuild takes it exclusive. A
consumer started during a rebuild waits for it to finish; a rebuild started while consumers run refuses. A killed
process's connection closes with it, and PostgreSQL releases its lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import psycopg
from civicloop_events.consumer import ConsumerRunner, read_positions
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_events.topics import partition_extents
from psycopg_pool import AsyncConnectionPool

Progress = Callable[[int, int], None]
# (consumer, topic) -> partition -> (first offset, end offset) the rebuild replays.
Targets = dict[tuple[str, str], dict[int, tuple[int, int]]]

_KEY = "hashtextextended(%s, 0)"


class ConsumersStillRunning(RuntimeError):
    """A rebuild would race live consumers of the same groups."""


@asynccontextmanager
async def consumers_lock_shared(dsn: str, key: str) -> AsyncIterator[None]:
    """Held by a running consumer of the read model `key` names, on a connection of its own."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"select pg_advisory_lock_shared({_KEY})", (key,))
        yield


@asynccontextmanager
async def consumers_lock_exclusive(dsn: str, key: str) -> AsyncIterator[bool]:
    """Yields False (holding nothing) when consumers of the read model `key` names are running."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(f"select pg_try_advisory_lock({_KEY})", (key,))
        row = await cur.fetchone()
        yield bool(row and row[0])


async def replay_targets(bootstrap_servers: str, pairs: Sequence[tuple[str, str]]) -> Targets:
    """Where each (consumer, topic)'s partitions begin and end now: what a rebuild replays."""
    return {(consumer, topic): await partition_extents(bootstrap_servers, topic) for consumer, topic in pairs}


def records_in(targets: Targets) -> int:
    return sum(end - start for extents in targets.values() for start, end in extents.values())


async def replay(
    pool: AsyncConnectionPool,
    *,
    schema: str,
    targets: Targets,
    runners: Sequence[Callable[[], ConsumerRunner]],
    on_progress: Progress | None = None,
    poll_s: float = 0.2,
) -> None:
    """Runs `runners` (unguarded: the caller holds the consumers' lock on their behalf) until their stored positions
    reach the end of every target, reporting (records replayed, records in all) as they go."""
    total = records_in(targets)
    supervisors = [ConsumerSupervisor(runner) for runner in runners]
    for supervisor in supervisors:
        supervisor.start()
    try:
        while True:
            done = await _replayed(pool, schema, targets)
            if on_progress:
                on_progress(done, total)
            if done >= total:
                return
            await asyncio.sleep(poll_s)
    finally:
        await asyncio.gather(*(supervisor.stop() for supervisor in supervisors))


async def _replayed(pool: AsyncConnectionPool, schema: str, targets: Targets) -> int:
    done = 0
    async with pool.connection() as conn:
        for (consumer, topic), extents in targets.items():
            positions = await read_positions(conn, schema, consumer, topic)
            for partition, (start, end) in extents.items():
                done += max(0, min(positions.get(partition, start), end) - start)
    return done


@asynccontextmanager
async def replay_pool(dsn: str, *, name: str) -> AsyncIterator[AsyncConnectionPool]:
    """Connections that commit without waiting for the WAL flush (`synchronous_commit = off`).

    A rebuild needs no durability per batch: should the machine die, the last batches' commits may be lost, and the
    rebuild, which starts from empty tables and offset 0 every time, is simply run again. The effect, the inbox rows
    and the position still commit together, so a replay is exactly-once whatever survives; and nothing outside the
    database acted on a lost commit (nobody reads a view while it is rebuilt, and the folds publish nothing).
    """
    async with AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=4,
        open=False,
        name=name,
        kwargs={"autocommit": True, "application_name": name, "options": "-c synchronous_commit=off"},
    ) as pool:
        yield pool
