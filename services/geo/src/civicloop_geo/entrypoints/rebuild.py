"""Rebuild geo's read model from the log: empty its tables and positions, replay both topics from offset 0.

The service areas and categories are folded from the configuration topic as the consumer folds them. The requests'
rows and decisions are folded from the request topic without deciding anything again: each decision is read from
geo's own reaction on the log (`domain/replay.py`), so nothing is geocoded and nothing is published. The cluster
sweep's memory of announced clusters (`geo.clusters`) is left as it is: it holds each cluster's exact centre, which
the log does not carry (`ClusterDetected` has the public cell only).

A rebuild replays up to where the log ended when it began; later events are applied by the consumers when they next
run. It refuses while geo's consumers run, and consumers started meanwhile wait for it (`civicloop_runtime.rebuild`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_runtime.content_hash import ReadModelHash, read_model_hash
from civicloop_runtime.rebuild import (
    ConsumersStillRunning,
    Progress,
    consumers_lock_exclusive,
    replay,
    replay_targets,
)

from civicloop_geo.bootstrap import CONSUMERS_LOCK, Geo
from civicloop_geo.settings import SCHEMA

__all__ = ["ConsumersStillRunning", "content_hash", "rebuild"]

TABLES = ("requests", "decisions", "service_areas", "services")
WORK_TABLES = ("replay_pending",)  # the rebuild's own, emptied with the others
# Left out of the content hash: when geo wrote the decision (`default now()`), not what the log says.
WRITE_TIME_COLUMNS = {"decisions": ("decided_at",)}


async def rebuild(geo: Geo, *, on_progress: Progress | None = None, poll_s: float = 0.2) -> dict[str, int]:
    """Replay both topics into empty tables; returns the row count of each rebuilt table."""
    async with consumers_lock_exclusive(geo.settings.pg_dsn, CONSUMERS_LOCK) as alone:
        if not alone:
            raise ConsumersStillRunning("geo's consumers are running: stop them before rebuilding")
        return await _replay_from_zero(geo, on_progress, poll_s)


async def _replay_from_zero(geo: Geo, on_progress: Progress | None, poll_s: float) -> dict[str, int]:
    s = geo.settings
    names = [s.requests_consumer_name, s.config_consumer_name]
    targets = await replay_targets(
        s.kafka_bootstrap,
        [
            (s.requests_consumer_name, s.topics.request_events),
            (s.config_consumer_name, s.topics.jurisdiction_config),
        ],
    )
    async with geo.pool.connection() as conn, conn.transaction():
        await conn.execute(f"truncate {', '.join(f'{SCHEMA}.{t}' for t in (*TABLES, *WORK_TABLES))}")
        await conn.execute(f"delete from {SCHEMA}.inbox where consumer = any(%s)", (names,))
        await conn.execute(f"delete from {SCHEMA}.consumer_positions where consumer = any(%s)", (names,))
    await replay(
        geo.pool,
        schema=SCHEMA,
        targets=targets,
        runners=[geo.replay_runner, geo.config_runner],
        on_progress=on_progress,
        poll_s=poll_s,
    )
    async with geo.pool.connection() as conn:
        counts = {}
        for table in TABLES:
            cur = await conn.execute(f"select count(*) from {SCHEMA}.{table}")
            row = await cur.fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts


async def content_hash(conn: psycopg.AsyncConnection[Any]) -> ReadModelHash:
    """Geo's read model's content hash (`WRITE_TIME_COLUMNS` left out)."""
    return await read_model_hash(conn, SCHEMA, TABLES, ignore=WRITE_TIME_COLUMNS)
