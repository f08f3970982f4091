"""Walking one back-end list over a date range so that nothing is lost to a capped answer.

The walk yields the range as consecutive chunks in date order, each read whole (by pages where the back-end honours
them, else by halving the window while an answer looks capped), or marked incomplete when even the smallest window
is capped. Rows seen twice (on shared window edges, on pages that shift while read) are yielded once. What is learnt
(whether paging works, the longest answer) is kept per body and list in `outbound.backend_list_memory`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from civicloop_events.payloads import Open311Connection
from civicloop_open311.wire import RemoteRequest, RemoteUpdate
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound.adapters.open311_client import ListKind, Open311Client
from civicloop_outbound.domain import open311_paging as paging
from civicloop_outbound.domain.open311_paging import ListMemory, Verdict

log = logging.getLogger("civicloop.outbound.open311_client")
MAX_WINDOW = timedelta(days=90)
RECENT_CHUNKS = 4

Row = RemoteRequest | RemoteUpdate


def row_key(row: Row) -> str:
    """What makes a row the same row twice: an update's id, a request's id."""
    return row.update_id if isinstance(row, RemoteUpdate) else row.service_request_id


def row_date(row: Row, kind: ListKind) -> datetime | None:
    """The date a list's window bounds: an update's time, a request's creation or last update time."""
    if isinstance(row, RemoteUpdate):
        return row.updated_datetime
    return row.requested_datetime if kind.after == "start_date" else row.updated_datetime


@dataclass
class Chunk:
    """A window of the range and its rows not yielded before; `complete` is False when the back-end's answer was
    capped and could not be read whole (the rows are what it gave)."""

    start: datetime
    end: datetime
    rows: list[Any]
    complete: bool = True


async def load_memory(
    pool: AsyncConnectionPool, jurisdiction_id: str, body_id: str, kind: ListKind
) -> ListMemory:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select paging, longest_answer from outbound.backend_list_memory where jurisdiction_id = %s"
            " and body_id = %s and list = %s",
            (jurisdiction_id, body_id, kind.name),
        )
        row = await cur.fetchone()
    return ListMemory(paging=row[0], longest=row[1]) if row else ListMemory()


async def save_memory(
    pool: AsyncConnectionPool, jurisdiction_id: str, body_id: str, kind: ListKind, memory: ListMemory
) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            """insert into outbound.backend_list_memory (jurisdiction_id, body_id, list, paging, longest_answer)
               values (%s, %s, %s, %s, %s) on conflict (jurisdiction_id, body_id, list)
               do update set paging = excluded.paging, longest_answer = excluded.longest_answer, learnt_at = now()""",
            (jurisdiction_id, body_id, kind.name, memory.paging, memory.longest),
        )


class ListWalk:
    """One walk of one list of one back-end; `memory` holds what it learnt, for the caller to keep."""

    def __init__(
        self,
        client: Open311Client,
        kind: ListKind,
        memory: ListMemory,
        *,
        min_span: timedelta = paging.MIN_SPAN,
        max_window: timedelta = MAX_WINDOW,
    ) -> None:
        self.client = client
        self.connection: Open311Connection = client.connection
        self.kind = kind
        self.memory = memory
        self.min_span = min_span
        self.max_window = max_window
        # Keys of the last chunks yielded: windows are consecutive, so a row comes twice only on a shared edge (or
        # a little further where a back-end shifts our dates), never chunks apart; a long import stays small.
        self.recent: deque[set[str]] = deque(maxlen=RECENT_CHUNKS)
        self.strays: set[str] = set()
        # Set when the back-end repeated its pages: date windows for the rest of the walk.
        self.pages_refused = False

    @property
    def threshold(self) -> int:
        return paging.cap_threshold(self.connection.answer_cap, self.memory)

    async def chunks(self, start: datetime, end: datetime) -> AsyncIterator[Chunk]:
        for s, e in paging.windows(start, end, self.max_window):
            pending = [(s, e)]  # depth first, earlier half first, so chunks come in date order
            while pending:
                ws, we = pending.pop()
                rows, verdict = await self._read(ws, we)
                if verdict is Verdict.split:
                    (a, m), (_, b) = paging.split(ws, we, self.min_span)
                    pending += [(m, b), (a, m)]
                    continue
                if verdict is Verdict.stuck:
                    log.error(
                        "an Open311 answer is capped and cannot be read whole",
                        extra={
                            "list": self.kind.name,
                            "window_start": ws.isoformat(),
                            "window_end": we.isoformat(),
                            "rows": len(rows),
                        },
                    )
                yield Chunk(ws, we, self._new(rows, ws, we), complete=verdict is Verdict.complete)

    def _new(self, rows: list[Any], start: datetime, end: datetime) -> list[Any]:
        fresh, keys = [], set()
        for row in rows:
            key = row_key(row)
            if key not in keys and key not in self.strays and not any(key in chunk for chunk in self.recent):
                keys.add(key)
                fresh.append(row)
        self.recent.append(keys)
        if any((d := row_date(r, self.kind)) is not None and not start <= d <= end for r in rows):
            # This answer strays outside its window (a back-end that ignores or shifts the dates): its rows may come
            # again in any later window, so they are remembered for the whole walk, not only a few chunks.
            self.strays.update(row_key(r) for r in rows)
        return fresh

    async def _ask(self, start: datetime, end: datetime, **page: int) -> list[Any]:
        return list(await self.client.list_window(self.kind, start, end, **page))

    async def _read(self, start: datetime, end: datetime) -> tuple[list[Any], Verdict]:
        mode = self.connection.paging
        if paging.use_paging(mode, self.memory) and not self.pages_refused:
            rows, honoured = await self._pages(start, end)
            if honoured:
                return rows, Verdict.complete
            self._learn_paging(False)
            self.pages_refused = True
            if mode == "pages":
                log.warning(
                    "an Open311 back-end configured for paging repeats its pages; reading by date windows",
                    extra={"list": self.kind.name},
                )
        else:
            rows = await self._ask(start, end)
        threshold = self.threshold
        self.memory = self.memory.saw(len(rows))
        if paging.looks_capped(len(rows), threshold) and paging.should_probe(mode, self.memory):
            first = await self._ask(start, end, page=1, page_size=self.connection.page_size)
            second = await self._ask(start, end, page=2, page_size=self.connection.page_size)
            honours = paging.paging_verdict(
                map(row_key, rows), map(row_key, first), map(row_key, second), self.connection.page_size
            )
            if honours is not None:
                self._learn_paging(honours)
            if honours:
                rows, honoured = await self._pages(start, end, already=[first, second])
                if honoured:
                    return rows, Verdict.complete
        ignores_window = paging.outside_window((row_date(r, self.kind) for r in rows), start, end)
        verdict = paging.judge(
            len(rows),
            threshold,
            can_split=bool(paging.split(start, end, self.min_span)),
            ignores_window=ignores_window,
            hard_cap=paging.hard_cap(self.connection.answer_cap),
        )
        return rows, verdict

    def _learn_paging(self, honoured: bool) -> None:
        if self.memory.paging is not honoured:
            log.info(
                "learnt whether an Open311 back-end honours page/page_size",
                extra={"list": self.kind.name, "honoured": honoured},
            )
            self.memory = ListMemory(paging=honoured, longest=self.memory.longest)

    async def _pages(
        self, start: datetime, end: datetime, already: list[list[Any]] | None = None
    ) -> tuple[list[Any], bool]:
        """Every page of a window: (rows, whether the back-end honoured the pages). A page 2 that repeats a full
        page 1 means it does not."""
        size = self.connection.page_size
        got: list[Any] = []
        keys: set[str] = set()
        page: int | None = 1
        given = list(already or [])
        while page is not None:
            rows = given.pop(0) if given else await self._ask(start, end, page=page, page_size=size)
            new = [r for r in rows if row_key(r) not in keys]
            if page == 2 and rows and not new and paging.page_is_full(len(got), size, self.threshold):
                return got, False
            keys.update(row_key(r) for r in new)
            got += new
            page = paging.next_page(page, len(rows), len(new), size, self.threshold)
            self.memory = self.memory.saw(len(rows))
        return got, True
