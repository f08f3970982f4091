"""Keeps a consumer runner running: a runner that fails (broker gone, database gone) is rebuilt after a back-off.

A new runner resumes from the positions stored with the view's writes, so nothing is skipped or applied twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from civicloop_events.consumer import ConsumerRunner

log = logging.getLogger("civicloop.gateway.consumers")


class ConsumerSupervisor:
    def __init__(
        self,
        make_runner: Callable[[], ConsumerRunner],
        *,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._make_runner = make_runner
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._task: asyncio.Task[None] | None = None
        self._running = False

    @property
    def running(self) -> bool:
        """Started against the broker and still applying (for /readyz)."""
        return self._running and self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        """Cancel wherever the runner is: an interrupted transaction rolls back, so nothing is half-applied."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _supervise(self) -> None:
        failures = 0
        while True:
            started = False
            runner = self._make_runner()
            try:
                await runner.start()
                self._running = started = True
                log.info("consumer started", extra={"consumer": runner.name, "topic": runner.topic})
                await runner.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                failures = 1 if started else failures + 1
                delay = min(self._initial_backoff_s * 2 ** (failures - 1), self._max_backoff_s)
                log.exception("consumer failed, restarting", extra={"consumer": runner.name, "backoff_s": delay})
            finally:
                self._running = False
                await runner.stop()
            await asyncio.sleep(delay)
