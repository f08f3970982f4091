"""Rebuild every projection from the log: empty the tables, forget the positions, replay from offset 0.

A rebuild replays up to where the log ended when it began; events published meanwhile are applied by the consumers
when they next run. It refuses while consumers run (they would keep their positions in memory and race the reset),
and consumers started during a rebuild wait for it (`civicloop_runtime.rebuild`). To rebuild without downtime
instead, deploy a new version of the consumer groups (the next `projections.agent.vN`): it starts with no positions and
replays into tables migrated for it. The replay runs with the rebuild's own batch bounds, on connections that commit
without waiting for the WAL flush (`replay_pool` says why that is safe).
"""

from __future__ import annotations

from functools import partial

from civicloop_runtime.rebuild import (
    ConsumersStillRunning,
    Progress,
    consumers_lock_exclusive,
    replay,
    replay_pool,
    replay_targets,
)

from civicloop_projections.adapters import tables
from civicloop_projections.bootstrap import CONSUMERS_LOCK, Projections
from civicloop_projections.settings import SCHEMA

__all__ = ["ConsumersStillRunning", "rebuild"]


async def rebuild(
    projections: Projections, *, on_progress: Progress | None = None, poll_s: float = 0.2
) -> dict[str, int]:
    """Replay both topics (for every consumer group) into empty tables; returns the row count of each projection table."""
    s = projections.settings
    async with consumers_lock_exclusive(s.pg_dsn, CONSUMERS_LOCK) as alone:
        if not alone:
            raise ConsumersStillRunning(
                f"consumers of schema {SCHEMA!r} are running: stop them before rebuilding"
            )
        return await _replay_from_zero(projections, on_progress, poll_s)


async def _replay_from_zero(
    projections: Projections, on_progress: Progress | None, poll_s: float
) -> dict[str, int]:
    s = projections.settings
    groups = [
        s.agent_consumer_name,
        s.catalogue_consumer_name,
        s.sla_consumer_name,
        s.sla_definitions_consumer_name,
        s.public_consumer_name,
        s.request_index_consumer_name,
    ]
    targets = await replay_targets(
        s.kafka_bootstrap,
        [
            (s.agent_consumer_name, s.topics.request_events),
            (s.catalogue_consumer_name, s.topics.jurisdiction_config),
            (s.sla_consumer_name, s.topics.request_events),
            (s.sla_definitions_consumer_name, s.topics.jurisdiction_config),
            (s.public_consumer_name, s.topics.request_events),
            (s.request_index_consumer_name, s.topics.request_events),
        ],
    )
    async with projections.pool.connection() as conn:
        await tables.reset(conn, groups)
    async with replay_pool(s.pg_dsn, name="civicloop-projections-rebuild") as pool:
        replaying = projections.consumers_on(
            pool,
            s.model_copy(
                update={
                    "consumer_batch_max_records": s.rebuild_batch_max_records,
                    "consumer_batch_max_ms": s.rebuild_batch_max_ms,
                }
            ),
        )
        runners = [partial(replaying.runner, group) for group in groups]
        await replay(
            pool, schema=SCHEMA, targets=targets, runners=runners, on_progress=on_progress, poll_s=poll_s
        )
    async with projections.pool.connection() as conn:
        return await tables.row_counts(conn)
