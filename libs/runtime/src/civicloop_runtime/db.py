"""The service's PostgreSQL pool (psycopg 3), built when the app starts, never at import."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


async def open_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, name: str = "civicloop"
) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        kwargs={"autocommit": True, "application_name": name},
    )
    await pool.open(wait=True, timeout=30)
    return pool
