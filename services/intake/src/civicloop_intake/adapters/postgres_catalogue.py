"""The catalogue view `intake.services`, folded from `ServiceDefined` events of the `jurisdiction.config` topic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
from civicloop_events import Event
from civicloop_events.payloads import ServiceAttribute
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.service_layer.folds import CatalogueRows
from civicloop_intake.service_layer.ports import Catalogue

CATALOGUE_CONSUMER = "intake.catalogue.v1"
MAX_KEPT = 10_000  # (jurisdiction, service code) answers kept by `RecentCatalogue`


class PostgresCatalogue(Catalogue):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def get(self, jurisdiction_id: str, service_code: str) -> CatalogueEntry | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select service_name, active, attributes from intake.services"
                " where jurisdiction_id = %s and service_code = %s",
                (jurisdiction_id, service_code),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        name, active, attributes = row
        return CatalogueEntry(
            jurisdiction_id=jurisdiction_id,
            service_code=service_code,
            service_name=name,
            active=active,
            attributes=tuple(ServiceAttribute.model_validate(a) for a in attributes),
        )


class PostgresCatalogueRows(CatalogueRows):
    """The catalogue view's rows in the consumer runner's transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def save(self, entry: CatalogueEntry, event: Event[Any]) -> None:
        await self.conn.execute(
            "insert into intake.services"
            " (jurisdiction_id, service_code, service_name, active, attributes, event_id, defined_at)"
            " values (%s, %s, %s, %s, %s, %s, %s)"
            " on conflict (jurisdiction_id, service_code) do update set"
            " service_name = excluded.service_name, active = excluded.active, attributes = excluded.attributes,"
            " event_id = excluded.event_id, defined_at = excluded.defined_at",
            (
                entry.jurisdiction_id,
                entry.service_code,
                entry.service_name,
                entry.active,
                Jsonb([a.model_dump(mode="json") for a in entry.attributes]),
                event.event_id,
                event.occurred_at,
            ),
        )


class RecentCatalogue(Catalogue):
    """`catalogue`'s answers kept for `keep_s` seconds: a submission reads its service from memory, not with a
    database round trip. The view is folded from the log in the background and so always a moment behind it; this
    adds at most `keep_s` to that moment (a service withdrawn is refused at most that much later). Concurrent calls
    for an answer no longer kept share one read."""

    def __init__(
        self, catalogue: Catalogue, *, keep_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.catalogue = catalogue
        self.keep_s = keep_s
        self.clock = clock
        self._kept: dict[tuple[str, str], tuple[float, CatalogueEntry | None]] = {}
        self._reading: dict[tuple[str, str], asyncio.Future[CatalogueEntry | None]] = {}

    async def get(self, jurisdiction_id: str, service_code: str) -> CatalogueEntry | None:
        key = (jurisdiction_id, service_code)
        kept = self._kept.get(key)
        if kept is not None and self.clock() - kept[0] < self.keep_s:
            return kept[1]
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.ensure_future(self._read(key))
            reading.add_done_callback(lambda _: self._reading.pop(key, None))
        return await asyncio.shield(reading)  # a caller that goes away does not cancel the others' read

    async def _read(self, key: tuple[str, str]) -> CatalogueEntry | None:
        read_at = self.clock()
        entry = await self.catalogue.get(*key)
        if len(self._kept) >= MAX_KEPT:  # codes come from clients: keep the memory bounded
            self._kept.clear()
        self._kept[key] = (read_at, entry)
        return entry
