"""The shape every notifier loop shares: workers that each take one unit of due work per transaction (`step`) and,
finding none, wait for a `wake` or the poll interval. A database or broker away pauses a worker; a bug in one unit
is logged and the worker goes on (that unit's transaction rolled back), so one bad row never stops the sending."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

import psycopg


class PollingWorkers(ABC):
    def __init__(self, *, poll_interval_s: float, concurrency: int, log: logging.Logger, what: str) -> None:
        self.poll_interval_s = poll_interval_s
        self.concurrency = concurrency
        self._log = log
        self._what = what  # names the loop in its log lines
        self._wake = asyncio.Event()
        self._stopping = False

    @abstractmethod
    async def step(self) -> bool:
        """Do one unit of due work in its own transaction; False when none was due."""

    def wake(self) -> None:
        """New work was committed: idle workers look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Workers end once their current unit is recorded (`run` then returns): nothing is cut half-way."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Run `concurrency` workers until `stop`."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(self._worker())

    async def drain(self) -> int:
        """Do everything due now, one unit after another (for commands and tests); returns how many."""
        count = 0
        while await self.step():
            count += 1
        return count

    async def _worker(self) -> None:
        while not self._stopping:
            try:
                handled = await self.step()
            except (psycopg.Error, OSError, TimeoutError) as exc:  # database or broker away: wait, look again
                self._log.warning(f"{self._what} paused", extra={"error": type(exc).__name__})
                handled = False
            except Exception as exc:  # a bug must not stop the loop: the unit's transaction rolled back
                self._log.exception(f"{self._what} failed", extra={"error": type(exc).__name__})
                handled = False
            if not handled and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval_s):
                        await self._wake.wait()
