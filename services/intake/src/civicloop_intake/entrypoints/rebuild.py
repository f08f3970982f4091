"""Rebuild intake's read models from the log: empty them, forget their consumers' positions, replay from offset 0.

The read models are the catalogue, the track view, the state agents' commands are checked against, staff accounts
and teams, and the SLA definitions (`adapters/read_models.py`); intake's write side (its outboxes, residents' codes
and sessions, staff credentials) is left as it is: the log does not hold it. The replay runs intake's own consumers
on the rebuild's pool (`replay_pool` says why it may commit without waiting for the WAL flush) with large batches;
the folds publish nothing. The worked-requests fold marks the agents' commands it applies as folded, as it did the
first time: those marks are already set, so they stay as they were.

A rebuild replays up to where the log ended when it began; later events are applied by the consumers when they next
run. It refuses while intake's consumers run (every intake process that serves runs them), and consumers started
meanwhile wait for it (`civicloop_runtime.rebuild`).
"""

from __future__ import annotations

from functools import partial

from civicloop_events.producer import EventProducer
from civicloop_runtime.consumers import ServiceConsumers
from civicloop_runtime.rebuild import (
    ConsumersStillRunning,
    Progress,
    consumers_lock_exclusive,
    replay,
    replay_pool,
    replay_targets,
)
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters import read_models
from civicloop_intake.bootstrap import CONSUMERS_LOCK, SCHEMA, consumer_specs
from civicloop_intake.settings import IntakeSettings

__all__ = ["ConsumersStillRunning", "rebuild"]

# A replay's batches: few, large transactions (live consumers keep theirs small for latency).
REBUILD_BATCH_RECORDS = 5_000
REBUILD_BATCH_MS = 5_000.0


async def rebuild(
    settings: IntakeSettings, *, on_progress: Progress | None = None, poll_s: float = 0.2
) -> dict[str, int]:
    """Replay both topics into intake's emptied read models; the row count of each."""
    async with consumers_lock_exclusive(settings.pg_dsn, CONSUMERS_LOCK) as alone:
        if not alone:
            raise ConsumersStillRunning(
                f"consumers of schema {SCHEMA!r} are running: stop intake before rebuilding"
            )
        producer = EventProducer(
            settings.kafka_bootstrap, settings.topics.dead_letters, client_id="civicloop-intake-rebuild"
        )
        async with replay_pool(settings.pg_dsn, name="civicloop-intake-rebuild") as pool:
            await producer.start()
            try:
                return await _replay_from_zero(settings, pool, producer, on_progress, poll_s)
            finally:
                await producer.stop()


async def _replay_from_zero(
    settings: IntakeSettings,
    pool: AsyncConnectionPool,
    producer: EventProducer,
    on_progress: Progress | None,
    poll_s: float,
) -> dict[str, int]:
    specs = consumer_specs(settings)
    targets = await replay_targets(settings.kafka_bootstrap, [(spec.name, spec.topic) for spec in specs])
    async with pool.connection() as conn:
        await read_models.reset(conn, [spec.name for spec in specs])
    replaying = ServiceConsumers(
        settings.model_copy(
            update={
                "consumer_batch_max_records": REBUILD_BATCH_RECORDS,
                "consumer_batch_max_ms": REBUILD_BATCH_MS,
            }
        ),
        pool=pool,
        schema=SCHEMA,
        dead_letters=producer,
        specs=specs,
    )
    await replay(
        pool,
        schema=SCHEMA,
        targets=targets,
        runners=[partial(replaying.runner, spec.name) for spec in specs],
        on_progress=on_progress,
        poll_s=poll_s,
    )
    async with pool.connection() as conn:
        return await read_models.row_counts(conn)
