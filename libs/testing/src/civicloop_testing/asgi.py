"""A service's ASGI app run in the test's own event loop: its lifespan started, an HTTP client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager


@asynccontextmanager
async def serving(
    app: Any, base_url: str, *, timeout: float = 60, shutdown_timeout: float = 30
) -> AsyncIterator[httpx.AsyncClient]:
    """`app` started (consumers and pool included) for the block, and a client whose requests go straight to it."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=shutdown_timeout) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=timeout) as client:
            yield client
