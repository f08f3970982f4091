"""Background tasks a component starts itself, and ends when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger("civicloop.events.tasks")


async def cancel_and_wait(task: asyncio.Task[Any] | None, *, again_s: float = 0.5) -> None:
    """Cancel `task` (None: nothing is running) and return once it has ended; its cancellation is not raised.

    The cancel is repeated every `again_s` until the task ends: one can be swallowed on the way (Python 3.11's
    `wait_for` drops a cancel that arrives as its inner call completes), leaving the task running on."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=again_s)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def within(seconds: float, step: Awaitable[Any], *, what: str) -> None:
    """Await `step` for at most `seconds`, then cancel it and say so: for a stop that must not hold a process which
    was told to end (a Kafka client's stop can wait on a broker that no longer answers)."""
    try:
        async with asyncio.timeout(seconds):
            await step
    except TimeoutError:
        log.warning("gave up waiting", extra={"step": what, "after_s": seconds})


def raise_if_cancelled(error: BaseException) -> None:
    """For a loop that carries on after an error: end it after all if its task was cancelled meanwhile.

    A cancel can surface as another error (a connection's rollback failing after the cancel cut its query short);
    caught as such, it would be lost and the task would keep running while its owner waits for it to end."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error
