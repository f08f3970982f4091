"""Read-your-writes without polling: the consumer runner announces each stored position with NOTIFY.

The runner's `_store_positions` sends the notice (`position_notice`) in the statement that stores the position, so
PostgreSQL delivers it at commit, exactly when the position becomes visible to a reader (and never for a
rolled-back apply). Each pool gets one `AppliedListener`: a
dedicated connection, opened on the first wait, that LISTENs and wakes the waiters whose offset was reached. A
notice can still be missed (the listener's connection dropped and is reconnecting), so a waiter also re-reads the
stored position at a slow interval, and every waiter re-reads once when the listener (re)connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import psycopg
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from civicloop_events.tasks import raise_if_cancelled

log = logging.getLogger("civicloop.events.applied")

# One channel for every service: NOTIFY is per database, and the payload names the schema.
CHANNEL = "civicloop_consumer_positions"

READS = Counter(
    "civicloop_read_your_writes_reads_total",
    "Stored positions read by read-your-writes waiters (first: on arrival; recheck: listener reconnected or"
    " the slow fallback interval passed)",
    ["consumer", "reason"],
)


class PositionKey(NamedTuple):
    schema: str
    consumer: str
    topic: str
    partition: int


def position_notice(key: PositionKey, next_offset: int) -> tuple[str, str]:
    """The channel and payload of `pg_notify` announcing `next_offset` of `key`."""
    return CHANNEL, json.dumps([key.schema, key.consumer, key.topic, key.partition, next_offset])


async def notify_position(conn: psycopg.AsyncConnection[Any], key: PositionKey, next_offset: int) -> None:
    """Announce `next_offset` of `key`; delivered when `conn`'s transaction commits."""
    await conn.execute("select pg_notify(%s, %s)", position_notice(key, next_offset))


def _parse(payload: str) -> tuple[PositionKey, int] | None:
    try:
        schema, consumer, topic, partition, next_offset = json.loads(payload)
        return PositionKey(str(schema), str(consumer), str(topic), int(partition)), int(next_offset)
    except (ValueError, TypeError):
        return None


@dataclass(eq=False)
class _Waiter:
    offset: int
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    reached: bool = False


class AppliedListener:
    """LISTENs on a connection of its own (with the pool's settings) and wakes the waiters of one pool."""

    def __init__(
        self, pool: AsyncConnectionPool, *, reconnect_initial_s: float = 0.1, reconnect_max_s: float = 2.0
    ) -> None:
        self._pool = pool
        self._reconnect_initial_s = reconnect_initial_s
        self._reconnect_max_s = reconnect_max_s
        self._waiters: dict[PositionKey, set[_Waiter]] = {}
        self._state = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()
        self.backend_pid: int | None = None  # of the listening connection, while it listens
        self.generation = 0  # connections that reached LISTEN so far

    # -- waiting ---------------------------------------------------------------------------------------------------
    async def wait(
        self,
        key: PositionKey,
        offset: int,
        read_next_offset: Callable[[], Awaitable[int]],
        *,
        timeout_s: float,
        recheck_s: float,
    ) -> bool:
        """True once the stored position of `key` is past `offset`; False when `timeout_s` passed first."""
        self._start()
        deadline = time.monotonic() + timeout_s
        with self._watching(key, offset) as waiter:
            reason = "first"
            while True:
                READS.labels(key.consumer, reason).inc()
                if await read_next_offset() > offset:
                    return True
                reason = "recheck"
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.woken.wait(), min(recheck_s, remaining))
                if waiter.reached:
                    return True
                waiter.woken.clear()

    @contextlib.contextmanager
    def _watching(self, key: PositionKey, offset: int) -> Iterator[_Waiter]:
        # Registered before the first read, so a notice that arrives between the read and the wait is not lost.
        waiter = _Waiter(offset)
        self._waiters.setdefault(key, set()).add(waiter)
        try:
            yield waiter
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[key]

    def _dispatch(self, payload: str) -> None:
        notice = _parse(payload)
        if notice is None:
            log.warning("ignoring a malformed position notice")
            return
        key, next_offset = notice
        for waiter in self._waiters.get(key, ()):
            if next_offset > waiter.offset:
                waiter.reached = True
                waiter.woken.set()

    def _recheck_all(self) -> None:
        # Notices sent while no connection listened are gone: every waiter reads its position again.
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.woken.set()

    # -- the connection --------------------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="civicloop-applied-listener")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def listening(self, *, newer_than: int = 0) -> int:
        """Wait until a connection newer than generation `newer_than` listens; its generation."""
        self._start()
        async with self._state:
            await self._state.wait_for(lambda: self.backend_pid is not None and self.generation > newer_than)
            return self.generation

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._recheck_all()

    async def _run(self) -> None:
        delay = self._reconnect_initial_s
        while not self._pool.closed:
            try:
                await self._listen()
                delay = self._reconnect_initial_s
            except Exception as exc:  # a listener that gave up would leave every waiter on the fallback
                raise_if_cancelled(exc)
                log.warning("position listener lost its connection, reconnecting", extra={"error": repr(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_max_s)

    async def _listen(self) -> None:
        conninfo, kwargs = self._pool.conninfo, self._pool.kwargs or {}
        if not isinstance(conninfo, str) or not isinstance(kwargs, dict):
            raise TypeError("the position listener needs a pool with a fixed conninfo and kwargs")
        kwargs = {**kwargs, "autocommit": True}
        if "application_name" in kwargs:  # told apart from the pool's connections in pg_stat_activity
            kwargs["application_name"] = f"{kwargs['application_name']}:positions"[:63]
        conn = await self._pool.connection_class.connect(conninfo, **kwargs)
        try:
            await conn.execute(f"listen {CHANNEL}")
            async with self._state:
                self.backend_pid = conn.info.backend_pid
                self.generation += 1
                self._state.notify_all()
            self._recheck_all()
            # The timeout only lets the loop notice that its pool was closed without a close() of its own.
            while not self._pool.closed:
                async for notice in conn.notifies(timeout=1.0):
                    self._dispatch(notice.payload)
        finally:
            self.backend_pid = None
            await conn.close()


_LISTENERS: weakref.WeakKeyDictionary[AsyncConnectionPool, AppliedListener] = weakref.WeakKeyDictionary()


def listener_for(pool: AsyncConnectionPool) -> AppliedListener:
    """The listener of `pool` on the running event loop (created, not yet connected, on first use)."""
    listener = _LISTENERS.get(pool)
    if listener is None or listener.loop is not asyncio.get_running_loop():
        listener = _LISTENERS[pool] = AppliedListener(pool)
    return listener


async def close_listener(pool: AsyncConnectionPool) -> None:
    """Stop `pool`'s listener and close its connection (before the pool is closed)."""
    listener = _LISTENERS.pop(pool, None)
    if listener is not None and listener.loop is asyncio.get_running_loop():
        await listener.close()
