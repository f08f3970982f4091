"""Agents' location corrections in `intake.location_corrections`: the Idempotency-Key is the primary key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.corrections import Correction
from civicloop_intake.domain.submissions import LogPosition, SubmissionState
from civicloop_intake.service_layer.ports import CorrectionLock, Corrections

_COLUMNS = "idempotency_key, request_number, event_id, body_hash, event::text as event_json, state, partition, kafka_offset"


def _correction(row: dict[str, Any]) -> Correction:
    position = None if row["kafka_offset"] is None else LogPosition(row["partition"], row["kafka_offset"])
    return Correction(
        idempotency_key=row["idempotency_key"],
        request_number=row["request_number"],
        event_id=row["event_id"],
        body_hash=row["body_hash"],
        event_json=row["event_json"],
        state=SubmissionState(row["state"]),
        position=position,
    )


async def _get(
    conn: psycopg.AsyncConnection[Any], idempotency_key: str, *, for_update: bool = False
) -> Correction | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_COLUMNS} from intake.location_corrections where idempotency_key = %s"
        + (" for update" if for_update else ""),
        (idempotency_key,),
    )
    row = await cur.fetchone()
    return _correction(row) if row else None


class _Lock(CorrectionLock):
    def __init__(self, conn: psycopg.AsyncConnection[Any], correction: Correction) -> None:
        self._conn = conn
        self.correction = correction

    async def mark_published(self, position: LogPosition) -> Correction:
        await self._conn.execute(
            "update intake.location_corrections set state = 'published', partition = %s, kafka_offset = %s,"
            " published_at = now() where idempotency_key = %s",
            (position.partition, position.offset, self.correction.idempotency_key),
        )
        self.correction = replace(self.correction, state=SubmissionState.published, position=position)
        return self.correction


class PostgresCorrections(Corrections):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def get(self, idempotency_key: str) -> Correction | None:
        async with self.pool.connection() as conn:
            return await _get(conn, idempotency_key)

    async def add(self, correction: Correction) -> Correction | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "insert into intake.location_corrections"
                " (idempotency_key, request_number, event_id, body_hash, event, state)"
                " values (%s, %s, %s, %s, %s::json, 'pending') on conflict (idempotency_key) do nothing",
                (
                    correction.idempotency_key,
                    correction.request_number,
                    correction.event_id,
                    correction.body_hash,
                    correction.event_json,
                ),
            )
        if cur.rowcount == 1:
            return None
        return await self.get(correction.idempotency_key)

    @asynccontextmanager
    async def locked(self, idempotency_key: str) -> AsyncIterator[CorrectionLock]:
        async with self.pool.connection() as conn, conn.transaction():
            correction = await _get(conn, idempotency_key, for_update=True)
            if correction is None:
                raise LookupError(f"no correction under idempotency key {idempotency_key!r}")
            yield _Lock(conn, correction)
