"""/healthz, /readyz and /metrics for every service process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import AsyncConnectionPool

Check = Callable[[], Awaitable[bool]]


class Supervised(Protocol):
    @property
    def running(self) -> bool: ...


def service_checks(
    pool: AsyncConnectionPool,
    *,
    migrations_current: Callable[[], bool],
    kafka_reachable: Check | None = None,
    consumers: Sequence[Supervised] = (),
) -> dict[str, Check]:
    """What every service's /readyz asks: the database answers, its schema is at head, a broker answers its Kafka
    clients and its consumers are running (the last two only where the process has them)."""

    async def database() -> bool:
        async with pool.connection() as conn:
            await conn.execute("select 1")
        return True

    async def migrations() -> bool:
        return await asyncio.to_thread(migrations_current)

    checks: dict[str, Check] = {"database": database, "migrations": migrations}
    if kafka_reachable is not None:
        checks["kafka"] = kafka_reachable
    if consumers:

        async def running() -> bool:
            return all(c.running for c in consumers)

        checks["consumers"] = running
    return checks


def ops_router(checks: Callable[[], dict[str, Check]]) -> APIRouter:
    """`checks` is called per request so the router can be built before the app's resources exist."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Database reachable, migrations current, Kafka connected.")
    async def readyz() -> JSONResponse:
        results: dict[str, bool] = {}
        for name, check in checks().items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), timeout=2.0))
            except Exception:
                results[name] = False
        ready = bool(results) and all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics.", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
