"""Rebuild the Open311 view from the log: empty its tables, forget its positions, replay from offset 0.

A rebuild replays up to where the log ended when it began; events published meanwhile are applied by the consumers
when they next run. It refuses while the view's consumers run (they keep their positions in memory and would race
the reset), and consumers started during a rebuild wait for it (`civicloop_runtime.rebuild`). To rebuild without
downtime instead, deploy a new version of the consumer groups (`gateway.open311.v3`): it starts with no positions
and replays into tables migrated for it.

The replay runs the view's own consumers, with batches far larger than live ones and its transactions committed
without waiting for the WAL flush (`synchronous_commit = off`). That is safe here: a transaction lost to a crash
loses its rows, inbox entries and position together, so the view stays consistent with its positions and the
consumers (or the next rebuild) apply those events again; and nothing outside the database acted on the lost commit
(there are no readers waiting on the view while it is rebuilt, and the folds publish nothing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from civicloop_events.producer import EventProducer
from civicloop_runtime.consumers import ServiceConsumers
from civicloop_runtime.rebuild import (
    ConsumersStillRunning,
    Progress,
    consumers_lock_exclusive,
    records_in,
    replay,
    replay_pool,
    replay_targets,
)
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.adapters import view_tables
from civicloop_gateway.bootstrap import CONSUMERS_LOCK, SERVICE, view_consumer_specs
from civicloop_gateway.settings import SCHEMA, GatewaySettings

__all__ = ["ConsumersStillRunning", "Rebuilt", "rebuild"]

# A rebuild's batches: one transaction per partition's slice of this many records (live consumers keep theirs small
# for latency; a replay wants few, large transactions).
REBUILD_BATCH_RECORDS = 10_000
REBUILD_BATCH_MS = 5_000.0


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
    async with consumers_lock_exclusive(settings.pg_dsn, CONSUMERS_LOCK) as alone:
        if not alone:
            raise ConsumersStillRunning(
                f"consumers of schema {SCHEMA!r} are running: stop them before rebuilding"
            )
        producer = EventProducer(
            settings.kafka_bootstrap, settings.topics.dead_letters, client_id=f"{SERVICE}-rebuild"
        )
        async with replay_pool(settings.pg_dsn, name=f"{SERVICE}-rebuild") as pool:
            await producer.start()
            try:
                return await _replay_from_zero(settings, pool, producer, on_progress, poll_s)
            finally:
                await producer.stop()


async def _replay_from_zero(
    settings: GatewaySettings,
    pool: AsyncConnectionPool,
    producer: EventProducer,
    on_progress: Progress | None,
    poll_s: float,
) -> Rebuilt:
    s = settings
    targets = await replay_targets(
        s.kafka_bootstrap,
        [
            (s.config_consumer_group, s.topics.jurisdiction_config),
            (s.request_consumer_group, s.topics.request_events),
        ],
    )
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
    runners = [partial(consumers.runner, spec.name) for spec in consumers.specs]
    await replay(
        pool, schema=SCHEMA, targets=targets, runners=runners, on_progress=on_progress, poll_s=poll_s
    )
    seconds = time.perf_counter() - started
    async with pool.connection() as conn:
        counts = await view_tables.row_counts(conn)
    return Rebuilt(row_counts=counts, records=records_in(targets), seconds=seconds)
