"""Consumers and a rebuild of the same projection never run at once, whatever process each runs in.

Every running consumer holds a shared advisory lock on its own connection; a rebuild takes it exclusive. A consumer
started during a rebuild waits for it to finish; a rebuild started while consumers run refuses. A killed process's
connection closes with it, and PostgreSQL releases its lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

_KEY = "hashtextextended('projections.consumers:' || %s, 0)"


@asynccontextmanager
async def consumers_lock_shared(dsn: str, projection: str) -> AsyncIterator[None]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"select pg_advisory_lock_shared({_KEY})", (projection,))
        yield


@asynccontextmanager
async def consumers_lock_exclusive(dsn: str, projection: str) -> AsyncIterator[bool]:
    """Yields False (holding nothing) when consumers of `projection` are running."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(f"select pg_try_advisory_lock({_KEY})", (projection,))
        (acquired,) = await cur.fetchone()  # type: ignore[misc]
        yield bool(acquired)
