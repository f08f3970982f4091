"""The outbox port in memory, for handler tests: a lock per key stands for the row lock.

A service's fake store inherits it, calls `put` where its real adapter inserts, and overrides `on_published` to
mirror the mark on its own rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from civicloop_events.outbox import Claim, Outbox, Stored
from civicloop_events.positions import LogPosition


class _MemoryClaim(Claim):
    def __init__(self, outbox: InMemoryOutbox, entry: Stored) -> None:
        self._outbox = outbox
        self.entry = entry

    async def mark_published(self, position: LogPosition | None) -> Stored:
        self.entry = replace(self.entry, published=True, position=position)
        self._outbox.entries[self.entry.key] = self.entry
        self._outbox.on_published(self.entry.key, position)
        return self.entry


class InMemoryOutbox(Outbox):
    def __init__(self, name: str = "memory", *, clock: Callable[[], float] = time.monotonic) -> None:
        self.outbox_name = name
        self.clock = clock
        self.entries: dict[str, Stored] = {}
        self.stored_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._sweeping = asyncio.Lock()

    def put(self, key: str, events: Sequence[str]) -> bool:
        """Store a pending row; False when the key is taken (the row stays as it was)."""
        if key in self.entries:
            return False
        self.entries[key] = Stored(key=key, events=tuple(events), created_at=datetime.now(UTC))
        self.stored_at[key] = self.clock()
        return True

    def on_published(self, key: str, position: LogPosition | None) -> None:
        """Called in the claim, as the real adapter updates the service's row in the same transaction."""

    async def stored(self, key: str) -> Stored | None:
        return self.entries.get(key)

    @asynccontextmanager
    async def claim(self, key: str) -> AsyncIterator[Claim]:
        if key not in self.entries:
            raise LookupError(f"no row under {key!r} in {self.outbox_name}")
        async with self._locks.setdefault(key, asyncio.Lock()):
            yield _MemoryClaim(self, self._aged(self.entries[key]))

    @asynccontextmanager
    async def claim_oldest_pending(
        self, older_than: timedelta, *, skip: frozenset[str] = frozenset()
    ) -> AsyncIterator[Claim | None]:
        if self._sweeping.locked():
            yield None
            return
        async with self._sweeping:
            cutoff = self.clock() - older_than.total_seconds()
            due = sorted(
                (at, key)
                for key, at in self.stored_at.items()
                if at <= cutoff
                and key not in skip
                and not self.entries[key].published
                and not self._locks.setdefault(key, asyncio.Lock()).locked()
            )
            if not due:
                yield None
                return
            key = due[0][1]
            async with self._locks[key]:
                yield _MemoryClaim(self, self._aged(self.entries[key]))

    def _aged(self, entry: Stored) -> Stored:
        """The entry with its age now, as the real adapter reads it with the row."""
        return replace(entry, age=timedelta(seconds=self.clock() - self.stored_at[entry.key]))

    async def oldest_pending_age(self) -> timedelta | None:
        pending = [at for key, at in self.stored_at.items() if not self.entries[key].published]
        return timedelta(seconds=self.clock() - min(pending)) if pending else None
