"""Rebuild the Open311 view from the log: empty its tables, forget its positions, replay from offset 0.

A rebuild replays up to where the log ended when it began; events published meanwhile are applied by the consumers
when they next run. It refuses while the view's consumers run (they keep their positions in memory and would race
the reset), and consumers started during a rebuild wait for it (`adapters/consumer_lock.py`). To rebuild without
downtime instead, deploy a new version of the consumer groups (`gateway.open311.v3`): it starts with no positions
and replays into tables migrated for it.

The replay runs the view's own consumers, with batches far larger than live ones and its transactions committed
without waiting for the WAL flush (`synchronous_commit = off`). That is safe here: a transaction lost to a crash
loses its rows, inbox entries and position together, so the view stays consistent with its positions and the
consumers (or the next rebuild) apply those events again; and nothing outside the database acted on the lost commit
(there are no readers waiting on the view while it is rebuilt, and the folds publish nothing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from civicloop_events.consumer import read_positions
from civicloop_events.producer import EventProducer
from civicloop_events.supervisor import ConsumerSupervisor
from civicloop_events.topics import partition_extents
from civicloop_runtime.consumers import ServiceConsumers
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.adapters import view_tables
from civicloop_gateway.adapters.consumer_lock import consumers_lock_exclusive
from civicloop_gateway.bootstrap import SERVICE, view_consumer_specs
from civicloop_gateway.settings import SCHEMA, GatewaySettings

Progress = Callable[[int, int], None]
# partition -> (first offset, end offset) of each (consumer, topic) the rebuild replays.
Targets = dict[tuple[str, str], dict[int, tuple[int, int]]]

# A rebuild's batches: one transaction per partition's slice of this many records (live consumers keep theirs small
# for latency; a replay wants few, large transactions).
REBUILD_BATCH_RECORDS = 10_000
REBUILD_BATCH_MS = 5_000.0


class ConsumersStillRunning(RuntimeError):
    """A rebuild would race live consumers of the same groups."""


@dataclass(frozen=True)
class Rebuilt:
    row_counts: dict[str, int]
    records: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


async def rebuild(
    settings: GatewaySettings, *, on_progress: Progress | None = None, poll_s: float = 0.2
) -> Rebuilt:
    """Replay both topics of the view into its emptied tables; the row counts and the replay's rate."""
    async with consumers_lock_exclusive(settings.pg_dsn, SCHEMA) as alone:
        if not alone:
            raise ConsumersStillRunning(
                f"consumers of schema {SCHEMA!r} are running: stop them before rebuilding"
            )
        pool = AsyncConnectionPool(
            settings.pg_dsn,
            min_size=2,
            max_size=4,
            open=False,
            name=f"{SERVICE}-rebuild",
            # Why not waiting for the WAL flush is safe: the module's doc.
            kwargs={
                "autocommit": True,
                "application_name": f"{SERVICE}-rebuild",
                "options": "-c synchronous_commit=off",
            },
        )
        await pool.open(wait=True, timeout=30)
        producer = EventProducer(
            settings.kafka_bootstrap, settings.topics.dead_letters, client_id=f"{SERVICE}-rebuild"
        )
        await producer.start()
        try:
            return await _replay_from_zero(settings, pool, producer, on_progress, poll_s)
        finally:
            await producer.stop()
            await pool.close()


async def _replay_from_zero(
    settings: GatewaySettings,
    pool: AsyncConnectionPool,
    producer: EventProducer,
    on_progress: Progress | None,
    poll_s: float,
) -> Rebuilt:
    s = settings
    targets: Targets = {
        (s.config_consumer_group, s.topics.jurisdiction_config): await partition_extents(
            s.kafka_bootstrap, s.topics.jurisdiction_config
        ),
        (s.request_consumer_group, s.topics.request_events): await partition_extents(
            s.kafka_bootstrap, s.topics.request_events
        ),
    }
    total = sum(end - start for extents in targets.values() for start, end in extents.values())
    async with pool.connection() as conn:
        await view_tables.reset(conn, [consumer for consumer, _ in targets])

    replay_settings = s.model_copy(
        update={
            "consumer_batch_max_records": REBUILD_BATCH_RECORDS,
            "consumer_batch_max_ms": REBUILD_BATCH_MS,
        }
    )
    consumers = ServiceConsumers(
        replay_settings, pool=pool, schema=SCHEMA, dead_letters=producer, specs=view_consumer_specs(s)
    )
    started = time.perf_counter()
    # Unguarded: this rebuild holds the consumers' lock exclusively on their behalf.
    supervisors = [ConsumerSupervisor(partial(consumers.runner, spec.name)) for spec in consumers.specs]
    for supervisor in supervisors:
        supervisor.start()
    try:
        while True:
            done = await _replayed(pool, targets)
            if on_progress:
                on_progress(done, total)
            if done >= total:
                break
            await asyncio.sleep(poll_s)
    finally:
        await asyncio.gather(*(supervisor.stop() for supervisor in supervisors))
    seconds = time.perf_counter() - started
    async with pool.connection() as conn:
        counts = await view_tables.row_counts(conn)
    return Rebuilt(row_counts=counts, records=total, seconds=seconds)


async def _replayed(pool: AsyncConnectionPool, targets: Targets) -> int:
    done = 0
    async with pool.connection() as conn:
        for (consumer, topic), extents in targets.items():
            positions = await read_positions(conn, SCHEMA, consumer, topic)
            for partition, (start, end) in extents.items():
                done += max(0, min(positions.get(partition, start), end) - start)
    return done
