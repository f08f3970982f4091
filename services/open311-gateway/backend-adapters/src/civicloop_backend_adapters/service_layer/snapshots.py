"""The last few reads of back-ends' lists, kept for a short while, so the pages of one window are cut from one read.

A reader walking a window page by page asks the same window again for each page; reading the back-end afresh each
time would cost a whole read (every page, every halved window) per page, and the pages would come from different
moments, so a row changing in between could shift across a page boundary. Page 1 always reads the back-end afresh
(a poller asking again gets news); later pages of the same window are cut from that read while it is younger than
`ttl_s`, or from a fresh read when it is gone. Nothing is kept beyond that: the app stays stateless.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class Snapshots:
    def __init__(self, ttl_s: float, *, size: int = 16, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self.clock = clock
        self._kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    async def read(self, key: Hashable, load: Callable[[], Awaitable[Any]], *, fresh: bool) -> Any:
        """`load()`'s answer, or the one kept under `key` when `fresh` is false and it is younger than `ttl_s`."""
        now = self.clock()
        kept = self._kept.get(key)
        if not fresh and kept is not None and now - kept[0] < self.ttl_s:
            return kept[1]
        value = await load()
        if self.ttl_s > 0:
            self._kept[key] = (now, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value
