"""Something a test starts and must stop however the test ends: a producer, a test server, a receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar


class Startable(Protocol):
    async def start(self) -> object: ...

    async def stop(self) -> object: ...


S = TypeVar("S", bound=Startable)


@asynccontextmanager
async def started(thing: S) -> AsyncIterator[S]:
    """`thing` started for the block and stopped after it, whether the block passes or fails."""
    await thing.start()
    try:
        yield thing
    finally:
        await thing.stop()
