"""geo's consumers and a rebuild of geo's read model never run at once, whatever process each runs in.

Every running consumer holds a shared advisory lock on a connection of its own; a rebuild takes it exclusive. A
consumer started during a rebuild waits for it to finish; a rebuild started while consumers run refuses. A killed
process's connection closes with it, and PostgreSQL releases its lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

_KEY = "hashtextextended('geo.consumers', 0)"


@asynccontextmanager
async def consumers_lock_shared(dsn: str) -> AsyncIterator[None]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"select pg_advisory_lock_shared({_KEY})")
        yield


@asynccontextmanager
async def consumers_lock_exclusive(dsn: str) -> AsyncIterator[bool]:
    """Yields False (holding nothing) when geo's consumers are running."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(f"select pg_try_advisory_lock({_KEY})")
        row = await cur.fetchone()
        yield bool(row and row[0])
