"""Consumer lag: how far each consumer group of every service is behind the end of the log it reads.

A group's lag is the log end offset of each partition of its topic minus the position the group stored
(`<schema>.consumer_positions`, written in the same transaction as its effects, so it is exactly what was applied),
summed over the partitions. The bench samples it every few seconds under load; a group keeps up when its lag does
not grow: the mean of the last third of the samples is compared with the mean of the first third (`verdict`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean
from typing import Any

import psycopg
from civicloop_events.topics import partition_extents
from psycopg import sql

Group = tuple[str, str, str]  # (schema, consumer, topic)
Extents = Mapping[int, tuple[int, int]]  # partition -> (first offset, end offset)
Positions = Mapping[tuple[str, str, str, int], int]  # (schema, consumer, topic, partition) -> next offset


def group_lags(
    groups: Iterable[Group], positions: Positions, extents: Mapping[str, Extents]
) -> dict[Group, int]:
    """Records each group still has to apply: per partition, the end offset minus the stored position (the first
    offset when the group stored none yet)."""
    lags: dict[Group, int] = {}
    for schema, consumer, topic in groups:
        lags[schema, consumer, topic] = sum(
            max(0, end - max(start, positions.get((schema, consumer, topic, partition), start)))
            for partition, (start, end) in extents.get(topic, {}).items()
        )
    return lags


def caught_up(lags: Mapping[Group, int], every_schema_reads: str | None = None) -> bool:
    """No group behind, at least one group known, and (when asked) a group on that topic in every schema."""
    schemas = {schema for schema, _, _ in lags}
    reading = {schema for schema, _, topic in lags if topic == every_schema_reads}
    return bool(lags) and not any(lags.values()) and (every_schema_reads is None or reading == schemas)


@dataclass(frozen=True)
class Verdict:
    first_mean: float  # mean lag over the first third of the samples
    last_mean: float  # and over the last third
    grows: bool

    def text(self) -> str:
        word = "GROWS" if self.grows else "steady"
        return f"{word} (mean lag first third {self.first_mean:.0f}, last third {self.last_mean:.0f} records)"


def verdict(series: list[int], *, slack: float = 100.0, factor: float = 1.5) -> Verdict:
    """Whether a lag series grows: the last third's mean exceeds `factor` times the first third's plus `slack`
    records. The slack absorbs the lag a healthy consumer shows between two batches (a few hundred records at
    500 req/s); the factor, noise around a steady backlog. Fewer than three samples cannot tell: never 'grows'."""
    if len(series) < 3:
        mean = fmean(series) if series else 0.0
        return Verdict(mean, mean, False)
    third = len(series) // 3
    first, last = fmean(series[:third]), fmean(series[-third:])
    return Verdict(first, last, last > factor * first + slack)


async def consumer_schemas(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Every schema that holds consumer positions: one per service with consumers."""
    cur = await conn.execute(
        "select table_schema from information_schema.tables where table_name = 'consumer_positions' order by 1"
    )
    return [schema for (schema,) in await cur.fetchall()]


async def stored_positions(conn: psycopg.AsyncConnection[Any], schemas: Iterable[str]) -> dict[Any, int]:
    positions: dict[Any, int] = {}
    for schema in schemas:
        cur = await conn.execute(
            sql.SQL("select consumer, topic, partition, next_offset from {}.consumer_positions").format(
                sql.Identifier(schema)
            )
        )
        for consumer, topic, partition, offset in await cur.fetchall():
            positions[schema, consumer, topic, partition] = offset
    return positions


@dataclass
class LagSampler:
    """Samples every consumer group's lag; groups are those that stored a position at least once."""

    dsn: str
    bootstrap: str
    groups: set[Group]
    series: dict[Group, list[int]]
    times: list[float]

    @classmethod
    def empty(cls, dsn: str, bootstrap: str) -> LagSampler:
        return cls(dsn, bootstrap, set(), {}, [])

    async def sample(self) -> dict[Group, int]:
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            positions = await stored_positions(conn, await consumer_schemas(conn))
        self.groups |= {(schema, consumer, topic) for schema, consumer, topic, _ in positions}
        topics = {topic for _, _, topic in self.groups}
        extents = dict(
            zip(
                topics,
                await asyncio.gather(*(partition_extents(self.bootstrap, t) for t in topics)),
                strict=True,
            )
        )
        return group_lags(self.groups, positions, extents)

    async def record(self) -> dict[Group, int]:
        """One sample, kept in the series (a group first seen late starts its series then)."""
        lags = await self.sample()
        self.times.append(time.monotonic())
        for group, lag in lags.items():
            self.series.setdefault(group, []).append(lag)
        return lags

    async def wait_caught_up(self, timeout: float, *, every_schema_reads: str | None = None) -> float:
        """Wait until no group has anything left to apply; seconds it took (raises after `timeout`). With
        `every_schema_reads`, also until every service's schema has a group that stored a position on that topic
        (a group appears once it applied something: right after start-up, some have not yet)."""
        started = time.monotonic()
        while True:
            lags = await self.sample()
            if caught_up(lags, every_schema_reads):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                behind = {f"{s}/{c}": lag for (s, c, _), lag in lags.items() if lag}
                raise TimeoutError(f"consumers still behind after {timeout:.0f} s: {behind}")
            await asyncio.sleep(0.5)


def label(group: Group, topics_prefix: str) -> str:
    schema, consumer, topic = group
    return f"{schema}/{consumer.removeprefix(topics_prefix)} <- {topic.removeprefix(topics_prefix)}"
