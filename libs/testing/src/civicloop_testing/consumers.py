"""Waiting, in a test, until a consumer has applied what the test published (read from its stored positions)."""

from __future__ import annotations

from collections.abc import Iterable

from civicloop_events.consumer import wait_until_applied
from civicloop_events.producer import Position
from psycopg_pool import AsyncConnectionPool


async def assert_applied(
    pool: AsyncConnectionPool,
    *,
    schema: str,
    consumer: str,
    positions: Iterable[Position],
    timeout_s: float = 30,
) -> None:
    """Wait until `consumer` has applied every position given (the last one of each partition suffices).

    Fails the test when it has not within `timeout_s` for a partition.
    """
    last: dict[tuple[str, int], int] = {}
    for p in positions:
        last[p.topic, p.partition] = max(last.get((p.topic, p.partition), -1), p.offset)
    for (topic, partition), offset in last.items():
        applied = await wait_until_applied(
            pool,
            schema=schema,
            consumer=consumer,
            topic=topic,
            partition=partition,
            offset=offset,
            timeout_s=timeout_s,
        )
        assert applied, f"{consumer} did not apply {topic} {partition}:{offset} within {timeout_s}s"
