"""Keeps a consumer runner running: a runner that fails (broker gone, database gone) is rebuilt after a back-off.

A new runner resumes from the positions stored with the consumer's writes, so nothing is skipped or applied twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext

from civicloop_events.consumer import ConsumerRunner
from civicloop_events.tasks import cancel_and_wait, raise_if_cancelled, within

log = logging.getLogger("civicloop.events.supervisor")


class ConsumerSupervisor:
    def __init__(
        self,
        make_runner: Callable[[], ConsumerRunner],
        *,
        guard: Callable[[], AbstractAsyncContextManager[object]] | None = None,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        runner_stop_s: float = 3.0,
    ) -> None:
        """`guard` is held while the runner runs (e.g. a lock that keeps a projection rebuild out meanwhile);
        a runner's stop is given `runner_stop_s`, then abandoned (its consumer may be waiting on a broker that
        no longer answers; its group hands the partitions on when the session times out)."""
        self._make_runner = make_runner
        self._guard = guard or nullcontext
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._runner_stop_s = runner_stop_s
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._started_since_failure = False

    @property
    def running(self) -> bool:
        """Started against the broker and still applying (for /readyz)."""
        return self._running and self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        """Cancel wherever the runner is: an interrupted transaction rolls back, so nothing is half-applied."""
        # Cancelled once, the runner's own stop gets its bound before a cancel is repeated.
        await cancel_and_wait(self._task, again_s=self._runner_stop_s + 0.5)
        self._task = None

    async def _supervise(self) -> None:
        failures = 0
        while True:
            self._started_since_failure = False
            try:
                async with self._guard():
                    await self._run_once()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelled(exc)
                # A runner that had started counts as a first failure again: only repeated failures back off long.
                failures = 1 if self._started_since_failure else failures + 1
                delay = min(self._initial_backoff_s * 2 ** (failures - 1), self._max_backoff_s)
                log.exception("consumer failed, restarting", extra={"backoff_s": delay})
            await asyncio.sleep(delay)

    async def _run_once(self) -> None:
        runner = self._make_runner()
        try:
            await runner.start()
            self._running = self._started_since_failure = True
            log.info("consumer started", extra={"consumer": runner.name, "topic": runner.topic})
            await runner.run()
        finally:
            self._running = False
            await within(self._runner_stop_s, runner.stop(), what=f"stop of consumer {runner.name}")
