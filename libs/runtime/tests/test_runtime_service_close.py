"""`Service.close` is bounded by the shutdown grace: a step that never ends is let go and the next ones still run."""

from __future__ import annotations

import asyncio
import time

from civicloop_runtime.service import Service
from civicloop_runtime.settings import Environment, ServiceSettings


class Idle(Service):
    schemas = ()


async def test_a_step_still_waiting_after_the_grace_is_cancelled_and_the_steps_after_it_still_run() -> None:
    service = Idle(settings=ServiceSettings(env=Environment.test, shutdown_grace_s=0.2), pool=None)
    closed: list[str] = []

    async def pool_close() -> None:
        closed.append("pool")

    async def stop_on_a_dead_broker() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            closed.append("producer let go")

    service.opened.push_async_callback(pool_close)  # closed last, as bootstraps push them
    service.opened.push_async_callback(stop_on_a_dead_broker)
    started = time.monotonic()
    await service.close()
    assert closed == ["producer let go", "pool"]
    assert time.monotonic() - started < 2  # the grace, not forever


async def test_a_close_within_the_grace_runs_every_step_in_order() -> None:
    service = Idle(settings=ServiceSettings(env=Environment.test), pool=None)
    closed: list[str] = []

    async def close(name: str) -> None:
        closed.append(name)

    for name in ("pool", "producer", "consumers"):
        service.opened.push_async_callback(close, name)
    await service.close()
    assert closed == ["consumers", "producer", "pool"]
