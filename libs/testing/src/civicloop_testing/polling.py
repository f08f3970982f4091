"""Waiting for a condition that another task or process makes true: poll it, bounded by a deadline.

A test never sleeps in place of a condition; it polls the condition itself and fails, naming what it waited for, when
the deadline passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = 45,
    what: str = "the condition",
    interval: float = 0.05,
) -> T:
    """Await `probe` until it returns something truthy and return that; fail naming `what` after `timeout` seconds.

    The probe runs at least once; one that hangs past the deadline is cancelled and counts as not yet true.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            async with asyncio.timeout_at(max(deadline, loop.time() + interval)):
                result = await probe()
            if result:
                return result
        except TimeoutError:
            pass  # the probe itself outlived the deadline: not yet true
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)
