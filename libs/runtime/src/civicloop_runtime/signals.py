"""How a long-running worker (a consumer, a poller, a sender loop) waits to be told to stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Protocol

from civicloop_runtime.process import exit_stopped


class Closable(Protocol):
    async def close(self) -> None: ...


async def wait_for_stop_signal() -> None:
    """Return on SIGINT or SIGTERM, so the caller's `finally` closes what it opened (no half-applied work)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def run_until_stopped(start: Callable[[], Awaitable[Closable]]) -> None:
    """Start a service (its bootstrap with the settings bound), keep it running until SIGINT or SIGTERM, close it
    (a `Service` closes within its shutdown grace), then end the process (`process.exit_stopped`)."""

    async def main() -> None:
        service = await start()
        try:
            await wait_for_stop_signal()
        finally:
            await service.close()

    asyncio.run(main())
    exit_stopped()
