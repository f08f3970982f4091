"""The service's PostgreSQL pool (psycopg 3), built when the app starts, never at import."""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool, PoolTimeout


async def open_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    name: str = "civicloop",
    timeout_s: float = 30.0,
    max_waiting: int = 0,
    reconnect_timeout_s: float = 5.0,
    open_within_s: float = 30.0,
) -> AsyncConnectionPool:
    """`timeout_s`: how long a caller waits for a connection (`PoolTimeout`); `max_waiting`: how many may wait at
    once before the next is refused at once (`TooManyRequests`; 0 = no bound). Both are `OperationalError`s, which
    the services answer 503.

    `reconnect_timeout_s` bounds how long the pool retries a lost connection in the background. Its retries back off
    exponentially without a ceiling, so after a long database outage the next retry could come tens of seconds after
    the database is back; once they stop, the next caller that finds no connection starts a new attempt at once. So
    service returns within about a second of the database, not at the end of a backoff.
    """
    pool = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        timeout=timeout_s,
        max_waiting=max_waiting,
        reconnect_timeout=reconnect_timeout_s,
        kwargs={"autocommit": True, "application_name": name},
    )
    await pool.open(wait=False)
    await _first_connection(pool, within_s=open_within_s)
    return pool


async def _first_connection(pool: AsyncConnectionPool, *, within_s: float) -> None:
    """Wait for the database at start (it may still be starting), asking again as the pool's own attempts end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        try:
            async with pool.connection(timeout=max(0.1, min(5.0, deadline - loop.time()))):
                return
        except PoolTimeout:
            if loop.time() >= deadline:
                await pool.close()
                raise
