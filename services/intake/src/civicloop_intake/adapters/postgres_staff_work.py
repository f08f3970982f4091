"""Staff commands in PostgreSQL: `intake.worked_requests` (the state commands are checked against, folded from
`requests.events` by `intake.worked_requests.v1`) and `intake.staff_work` (the commands kept with their event under
their Idempotency-Key: the outbox of their events, see `kept_commands`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events import Event, decode_event
from civicloop_events.consumer import wait_until_applied
from civicloop_events.outbox_postgres import OutboxTable
from civicloop_events.payloads import Priority, RequestStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters.kept_commands import PostgresKeptCommands
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.domain.work_commands import WorkDone
from civicloop_intake.domain.worked_requests import Visit, WorkedRequest
from civicloop_intake.service_layer.work_ports import StaffWork, WorkedRows, WorkLedger

WORKED_CONSUMER = "intake.worked_requests.v1"
STAFF_WORK_OUTBOX = OutboxTable(schema="intake", table="staff_work", key="idempotency_key")
# Transaction-scoped, one per request: commands on one request are checked and published one at a time.
_SERIALISE = "select pg_advisory_xact_lock(hashtext('intake.staff_work'), hashtext(%s))"


def _visit_json(v: Visit) -> dict[str, Any]:
    return {
        "visit_id": v.visit_id,
        "starts_at": v.starts_at.isoformat(),
        "duration_minutes": v.duration_minutes,
        "address": v.address,
    }


def _worked(row: dict[str, Any]) -> WorkedRequest:
    return WorkedRequest(
        request_number=row["request_number"],
        jurisdiction_id=row["jurisdiction_id"],
        service_code=row["service_code"],
        status=RequestStatus(row["status"]),
        updated_at=row["updated_at"],
        team_id=row["team_id"],
        staff_id=row["staff_id"],
        priority=Priority(row["priority"]),
        priority_by_staff=row["priority_by_staff"],
        visits=tuple(
            Visit(v["visit_id"], datetime.fromisoformat(v["starts_at"]), v["duration_minutes"], v["address"])
            for v in row["visits"]
        ),
        merged_into=row["merged_into"],
        address=row["address"],
    )


class PostgresWorkedRows(WorkedRows):
    """The state's rows in the consumer runner's transaction: a batch's rows read in one query, written in one."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, WorkedRequest]:
        cur = self.conn.cursor(row_factory=dict_row)
        await cur.execute(
            "select * from intake.worked_requests where request_number = any(%s)"
            " order by request_number for update",
            (list(request_numbers),),
        )
        return {row["request_number"]: _worked(row) for row in await cur.fetchall()}

    async def save(self, states: Sequence[WorkedRequest]) -> None:
        if not states:
            return
        await self.conn.execute(
            "insert into intake.worked_requests (request_number, jurisdiction_id, service_code, status, updated_at,"
            " team_id, staff_id, priority, priority_by_staff, visits, merged_into, address)"
            " select * from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[],"
            " %s::text[], %s::text[], %s::boolean[], %s::jsonb[], %s::text[], %s::text[])"
            " on conflict (request_number) do update set service_code = excluded.service_code,"
            " status = excluded.status, updated_at = excluded.updated_at, team_id = excluded.team_id,"
            " staff_id = excluded.staff_id, priority = excluded.priority,"
            " priority_by_staff = excluded.priority_by_staff, visits = excluded.visits,"
            " merged_into = excluded.merged_into, address = excluded.address",
            (
                [s.request_number for s in states],
                [s.jurisdiction_id for s in states],
                [s.service_code for s in states],
                [s.status.value for s in states],
                [s.updated_at for s in states],
                [s.team_id for s in states],
                [s.staff_id for s in states],
                [s.priority.value for s in states],
                [s.priority_by_staff for s in states],
                [Jsonb([_visit_json(v) for v in s.visits]) for s in states],
                [s.merged_into for s in states],
                [s.address for s in states],
            ),
        )

    async def mark_folded(self, event_ids: Collection[UUID]) -> None:
        if event_ids:
            await self.conn.execute(
                "update intake.staff_work set folded = true where event_id = any(%s) and not folded",
                (list(event_ids),),
            )


class _Ledger(WorkLedger):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def current(self, number: str) -> tuple[WorkedRequest | None, list[Event[Any]]]:
        # One snapshot for both reads: the fold commits its row and its `folded` marks together, so an accepted
        # command is counted exactly once, in the row or on top of it.
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("set transaction isolation level repeatable read")
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("select * from intake.worked_requests where request_number = %s", (number,))
            row = await cur.fetchone()
            await cur.execute(
                "select event::text as event_json from intake.staff_work"
                " where request_number = %s and not folded order by created_at",
                (number,),
            )
            pending = [decode_event(r["event_json"]) for r in await cur.fetchall()]
        return (_worked(row) if row else None), pending

    async def unpublished(self, number: str) -> list[str]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select idempotency_key from intake.staff_work where request_number = %s and state = 'pending'"
                " order by created_at",
                (number,),
            )
            return [r[0] for r in await cur.fetchall()]


class PostgresStaffWork(PostgresKeptCommands[WorkDone], StaffWork):
    """`slots`: commands of this process inside `serialised` at once. Each holds the lock's connection and takes a
    second one at a time; bounding them keeps the pool from being filled by lock holders that all wait for a
    second connection (a wait only the pool's timeout would end)."""

    def __init__(
        self, pool: AsyncConnectionPool, *, topic: str, consumer: str = WORKED_CONSUMER, slots: int = 2
    ) -> None:
        super().__init__(pool, STAFF_WORK_OUTBOX, WorkDone)
        self.topic = topic
        self.consumer = consumer
        self._slots = asyncio.Semaphore(max(1, slots))

    @asynccontextmanager
    async def serialised(self, number: str) -> AsyncIterator[WorkLedger]:
        async with self._slots, self.pool.connection() as conn, conn.transaction():
            await conn.execute(_SERIALISE, (number,))
            yield _Ledger(self.pool)

    async def known(self, number: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select 1 from intake.worked_requests where request_number = %s", (number,)
            )
            return await cur.fetchone() is not None

    async def wait_until_applied(self, position: LogPosition, *, timeout_s: float) -> bool:
        return await wait_until_applied(
            self.pool,
            schema="intake",
            consumer=self.consumer,
            topic=self.topic,
            partition=position.partition,
            offset=position.offset,
            timeout_s=timeout_s,
        )
