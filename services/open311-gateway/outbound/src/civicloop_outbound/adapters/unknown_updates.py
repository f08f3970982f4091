"""Updates heard about back-end requests CivicLoop does not know yet (`outbound.backend_unknown_updates`): kept when
something can come of them, read back by request, and settled once (see `domain/late_imports.py` for the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from civicloop_open311.wire import RemoteUpdate
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound.domain import late_imports as late

# between our clock (a token's creation) and a back-end's (an update's time)
TOKEN_CLOCK_SKEW = timedelta(hours=1)


@dataclass(frozen=True)
class KeptUpdate:
    update: RemoteUpdate
    remembered_at: datetime
    attempts: int


async def remember_unknown_update(
    conn: Any, jurisdiction_id: str, body_id: str, update: RemoteUpdate
) -> None:
    """Keep an update about a request not known yet (once: the same update read again changes nothing)."""
    await conn.execute(
        "insert into outbound.backend_unknown_updates (jurisdiction_id, body_id, update_id, external_id, update,"
        " updated_at) values (%s, %s, %s, %s, %s, %s) on conflict do nothing",
        (
            jurisdiction_id,
            body_id,
            update.update_id,
            update.service_request_id,
            Jsonb(late.update_record(update)),
            update.updated_datetime,
        ),
    )


async def token_pending_since(conn: Any, jurisdiction_id: str, body_id: str, when: datetime) -> bool:
    """A batch token still pending that was created before `when` (give or take an hour of clock skew): the update
    may be about the request it stands for. An update older than every pending token cannot be about one we sent."""
    cur = await conn.execute(
        "select 1 from outbound.open311_tokens where jurisdiction_id = %s and body_id = %s and state = 'pending'"
        " and created_at <= %s limit 1",
        (jurisdiction_id, body_id, when + TOKEN_CLOCK_SKEW),
    )
    return await cur.fetchone() is not None


async def open_unknown_updates(
    pool: AsyncConnectionPool, jurisdiction_id: str, body_id: str, limit: int = 500
) -> dict[str, list[KeptUpdate]]:
    """The kept updates still open, by the request they are about: those to fetch first (so that updates waiting
    for a reference never hold them back), the oldest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select external_id, update, remembered_at, attempts from outbound.backend_unknown_updates"
            " where jurisdiction_id = %s and body_id = %s and state in ('pending', 'ours')"
            " order by state = 'pending' desc, updated_at, update_id limit %s",
            (jurisdiction_id, body_id, limit),
        )
        rows = await cur.fetchall()
    kept: dict[str, list[KeptUpdate]] = {}
    for external_id, record, remembered_at, attempts in rows:
        kept.setdefault(external_id, []).append(
            KeptUpdate(late.update_from_record(record), remembered_at, attempts)
        )
    return kept


async def what_is_known(conn: Any, jurisdiction_id: str, body_id: str, external_id: str) -> late.Known:
    key = (jurisdiction_id, body_id, external_id)
    cur = await conn.execute(
        "select 1 from outbound.external_refs where jurisdiction_id = %s and body_id = %s and external_id = %s",
        key,
    )
    referenced = await cur.fetchone() is not None
    cur = await conn.execute(
        "select outcome, reason, decided_at from outbound.backend_imports where jurisdiction_id = %s"
        " and body_id = %s and external_id = %s",
        key,
    )
    decision = await cur.fetchone()
    if decision is None:
        return late.Known(referenced)
    return late.Known(referenced, decision[0], decision[1], decision[2])


async def attempts_of(pool: AsyncConnectionPool, jurisdiction_id: str, body_id: str, update_id: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select attempts from outbound.backend_unknown_updates where jurisdiction_id = %s and body_id = %s"
            " and update_id = %s",
            (jurisdiction_id, body_id, update_id),
        )
        row = await cur.fetchone()
    return row[0] if row else 0


async def count_fetch(
    pool: AsyncConnectionPool, jurisdiction_id: str, body_id: str, external_id: str
) -> None:
    """One more read by id that did not return the request."""
    async with pool.connection() as conn:
        await conn.execute(
            "update outbound.backend_unknown_updates set attempts = attempts + 1 where jurisdiction_id = %s"
            " and body_id = %s and external_id = %s and state = 'pending'",
            (jurisdiction_id, body_id, external_id),
        )


async def settle(
    pool: AsyncConnectionPool,
    jurisdiction_id: str,
    body_id: str,
    update_id: str,
    state: late.State,
    reason: str = "",
) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "update outbound.backend_unknown_updates set state = %s, reason = %s, settled_at = now()"
            " where jurisdiction_id = %s and body_id = %s and update_id = %s",
            (state.value, reason[:2000], jurisdiction_id, body_id, update_id),
        )


async def mark_ours(
    pool: AsyncConnectionPool, jurisdiction_id: str, body_id: str, update_id: str, reason: str
) -> None:
    """Stop fetching a request CivicLoop sent: its update waits for the reference (a batch token resolving)."""
    async with pool.connection() as conn:
        await conn.execute(
            "update outbound.backend_unknown_updates set state = 'ours', reason = %s where jurisdiction_id = %s"
            " and body_id = %s and update_id = %s and state = 'pending'",
            (reason[:2000], jurisdiction_id, body_id, update_id),
        )


async def cover(pool: AsyncConnectionPool, jurisdiction_id: str, body_id: str, update: RemoteUpdate) -> None:
    """The request's import stood for the update: seen (a later read of it is a duplicate), nothing published."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "insert into outbound.backend_updates_seen (jurisdiction_id, body_id, update_id, external_id)"
            " values (%s, %s, %s, %s) on conflict do nothing",
            (jurisdiction_id, body_id, update.update_id, update.service_request_id),
        )
        await conn.execute(
            "update outbound.backend_unknown_updates set state = 'covered', settled_at = now()"
            " where jurisdiction_id = %s and body_id = %s and update_id = %s",
            (jurisdiction_id, body_id, update.update_id),
        )
