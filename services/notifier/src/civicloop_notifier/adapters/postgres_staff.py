"""The staff side's tables in PostgreSQL (schema `notifier`), on one transaction's connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events.personal_data import SealedPersonalData
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.domain.keys import staff_message_id
from civicloop_notifier.domain.staff import (
    RecipientRole,
    Recipients,
    StaffMember,
    StaffMessageKind,
    StaffNotice,
)
from civicloop_notifier.service_layer.staff_ports import ClaimedNotice, StaffMessage


class PostgresStaffStore:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    # -- the directory ---------------------------------------------------------------------------------------------

    async def staff_created(
        self,
        staff_id: UUID,
        *,
        jurisdiction_id: str,
        contact: SealedPersonalData,
        roles: Sequence[str],
        teams: Sequence[str],
    ) -> None:
        await self.conn.execute(
            """insert into notifier.staff (staff_id, jurisdiction_id, contact, roles, teams)
               values (%s, %s, %s, %s, %s) on conflict (staff_id) do nothing""",
            (staff_id, jurisdiction_id, Jsonb(contact.model_dump(mode="json")), list(roles), list(teams)),
        )

    async def staff_roles(self, staff_id: UUID, roles: Sequence[str]) -> None:
        await self.conn.execute(
            "update notifier.staff set roles = %s where staff_id = %s",
            (list(roles), staff_id),
        )

    async def staff_teams(self, staff_id: UUID, teams: Sequence[str]) -> None:
        await self.conn.execute(
            "update notifier.staff set teams = %s where staff_id = %s",
            (list(teams), staff_id),
        )

    async def staff_active(self, staff_id: UUID, active: bool) -> None:
        await self.conn.execute(
            "update notifier.staff set active = %s where staff_id = %s",
            (active, staff_id),
        )

    async def team_defined(self, jurisdiction_id: str, team_id: str, *, name: str, active: bool) -> None:
        await self.conn.execute(
            """insert into notifier.teams (jurisdiction_id, team_id, name, active) values (%s, %s, %s, %s)
               on conflict (jurisdiction_id, team_id) do update set name = excluded.name, active = excluded.active""",
            (jurisdiction_id, team_id, name, active),
        )

    # -- notices ---------------------------------------------------------------------------------------------------

    async def queue_notice(
        self,
        *,
        cause_event_id: UUID,
        jurisdiction_id: str,
        request_id: str | None,
        notice: StaffNotice,
        occurred_at: datetime,
    ) -> bool:
        cur = await self.conn.execute(
            """insert into notifier.staff_notices
                 (cause_event_id, jurisdiction_id, request_id, kind, notice, occurred_at)
               values (%s, %s, %s, %s, %s, %s) on conflict (cause_event_id) do nothing""",
            (
                cause_event_id,
                jurisdiction_id,
                request_id,
                notice.kind.value,
                Jsonb(dict(notice.facts)),
                occurred_at,
            ),
        )
        return cur.rowcount == 1

    async def claim_notice(self, now: datetime) -> ClaimedNotice | None:
        cur = await self.conn.execute(
            """select cause_event_id, jurisdiction_id, kind, notice, attempts from notifier.staff_notices
                where state = 'pending' and next_attempt_at <= %s
                order by next_attempt_at limit 1 for update skip locked""",
            (now,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        return ClaimedNotice(row[0], row[1], StaffNotice(StaffMessageKind(row[2]), row[3]), row[4])

    async def directory(self, jurisdiction_id: str) -> Sequence[StaffMember]:
        cur = await self.conn.execute(
            "select staff_id, roles, teams, active from notifier.staff where jurisdiction_id = %s",
            (jurisdiction_id,),
        )
        return [
            StaffMember(r[0], jurisdiction_id, frozenset(r[1]), frozenset(r[2]), r[3])
            for r in await cur.fetchall()
        ]

    async def expand(self, cause_event_id: UUID, recipients: Recipients) -> int:
        ids = list(recipients.staff_ids)
        cur = await self.conn.execute(
            """insert into notifier.staff_messages (message_id, cause_event_id, staff_id, role)
               select m, %s, s, %s from unnest(%s::uuid[], %s::uuid[]) as chosen(m, s)
               on conflict do nothing""",
            (
                cause_event_id,
                recipients.role.value,
                [staff_message_id(cause_event_id, s) for s in ids],
                ids,
            ),
        )
        await self.conn.execute(
            "update notifier.staff_notices set state = 'expanded' where cause_event_id = %s",
            (cause_event_id,),
        )
        return cur.rowcount

    async def retry_notice(self, cause_event_id: UUID, *, attempts: int, at: datetime | None) -> None:
        await self.conn.execute(
            """update notifier.staff_notices
                  set attempts = %s, state = case when %s::timestamptz is null then 'no_recipient' else state end,
                      next_attempt_at = coalesce(%s, next_attempt_at)
                where cause_event_id = %s""",
            (attempts, at, at, cause_event_id),
        )

    async def claim_message(self, now: datetime) -> StaffMessage | None:
        cur = await self.conn.execute(
            """select m.message_id, m.staff_id, m.role, n.jurisdiction_id, n.request_id, n.kind, n.notice,
                      s.contact, t.name, m.attempts
                 from notifier.staff_messages m
                 join notifier.staff_notices n on n.cause_event_id = m.cause_event_id
                 join notifier.staff s on s.staff_id = m.staff_id
                 left join notifier.teams t
                   on t.jurisdiction_id = n.jurisdiction_id and t.team_id = n.notice ->> 'team_id'
                where m.state = 'pending' and m.next_attempt_at <= %s
                order by m.next_attempt_at, m.seq
                limit 1
                for update of m skip locked""",
            (now,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        return StaffMessage(
            message_id=row[0],
            staff_id=row[1],
            role=RecipientRole(row[2]),
            jurisdiction_id=row[3],
            request_id=row[4],
            notice=StaffNotice(StaffMessageKind(row[5]), row[6]),
            contact=SealedPersonalData.model_validate(row[7]),
            team_name=row[8],
            attempts=row[9],
        )

    async def record_attempt(
        self,
        message_id: UUID,
        *,
        attempt: int,
        provider: str | None,
        provider_message_id: str | None,
        outcome: str,
        error: str | None,
    ) -> None:
        await self.conn.execute(
            """insert into notifier.staff_attempts
                 (message_id, attempt, provider, provider_message_id, outcome, error)
               values (%s, %s, %s, %s, %s, %s)""",
            (message_id, attempt, provider, provider_message_id, outcome, error[:200] if error else None),
        )

    async def mark_message(
        self, message_id: UUID, *, state: str, attempts: int, next_attempt_at: datetime | None = None
    ) -> None:
        await self.conn.execute(
            """update notifier.staff_messages
                  set state = %s, attempts = %s, next_attempt_at = coalesce(%s, next_attempt_at),
                      updated_at = now()
                where message_id = %s""",
            (state, attempts, next_attempt_at, message_id),
        )


@contextlib.asynccontextmanager
async def staff_transaction(pool: AsyncConnectionPool) -> AsyncIterator[PostgresStaffStore]:
    async with pool.connection() as conn, conn.transaction():
        yield PostgresStaffStore(conn)
