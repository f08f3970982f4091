"""The service's PostgreSQL pool (psycopg 3), built when the app starts, never at import."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


async def open_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    name: str = "civicloop",
    timeout_s: float = 30.0,
    max_waiting: int = 0,
) -> AsyncConnectionPool:
    """`timeout_s`: how long a caller waits for a connection (`PoolTimeout`); `max_waiting`: how many may wait at
    once before the next is refused at once (`TooManyRequests`; 0 = no bound). Both are `OperationalError`s, which
    the services answer 503."""
    pool = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        timeout=timeout_s,
        max_waiting=max_waiting,
        kwargs={"autocommit": True, "application_name": name},
    )
    await pool.open(wait=True, timeout=30)
    return pool
