"""Bounded waits so a GET right after a command sees it: for a log position, or for a request to appear."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from civicloop_events.consumer import wait_until_applied
from prometheus_client import Histogram
from psycopg_pool import AsyncConnectionPool

from civicloop_projections.domain.queries import LogPosition
from civicloop_projections.settings import SCHEMA, ProjectionSettings

T = TypeVar("T")

WAITED = Histogram(
    "civicloop_projections_read_your_writes_wait_seconds", "Time GETs waited for the projection", ["outcome"]
)
POLL_S = 0.05


class Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    @property
    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())


async def wait_for_positions(
    pool: AsyncConnectionPool, settings: ProjectionSettings, positions: list[LogPosition], deadline: Deadline
) -> bool:
    """True once the agent consumer has applied every position; False if the deadline came first."""
    started = time.monotonic()
    applied = True
    for position in positions:
        applied = applied and await wait_until_applied(
            pool,
            schema=SCHEMA,
            consumer=settings.agent_consumer_name,
            topic=settings.topics.request_events,
            partition=position.partition,
            offset=position.offset,
            timeout_s=deadline.remaining,
        )
    WAITED.labels("applied" if applied else "timed_out").observe(time.monotonic() - started)
    return applied


async def poll_until_found(find: Callable[[], Awaitable[T | None]], deadline: Deadline) -> T | None:
    """`find()` until it returns something or the deadline passes (a request submitted a moment ago)."""
    while True:
        found = await find()
        if found is not None or deadline.remaining == 0:
            return found
        await asyncio.sleep(min(POLL_S, deadline.remaining))
