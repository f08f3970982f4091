"""The notifier's inbound tables (delivery receipts, open requests, conversations), on one transaction's connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.domain.conversation import Conversation
from civicloop_notifier.domain.delivery import falls_back, moves_forward
from civicloop_notifier.service_layer.inbound_texts import Waiting


@dataclass(frozen=True)
class OpenRequest:
    request_id: str
    jurisdiction_id: str


class PostgresInboundStore:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    # -- delivery receipts -------------------------------------------------------------------------------------------

    async def record_receipt(self, provider_message_id: str, state: str, error_code: int | None) -> None:
        await self.conn.execute(
            """insert into notifier.delivery_receipts (provider_message_id, state, error_code)
               values (%s, %s, %s) on conflict do nothing""",
            (provider_message_id, state, error_code),
        )

    async def apply_receipts(self) -> int:
        """Apply every receipt whose attempt is known; returns how many messages fall back to another channel."""
        cur = await self.conn.execute(
            """select r.provider_message_id, r.state, r.error_code, a.notification_id, a.channel, a.attempt,
                      a.outcome, a.delivery_state
                 from notifier.delivery_receipts r
                 join notifier.attempts a on a.provider_message_id = r.provider_message_id
                where r.applied_at is null
                order by r.received_at
                  for update of r, a skip locked"""
        )
        rerouted = 0
        current: dict[tuple[UUID, str, int], str | None] = {}
        for sid, state, code, notification_id, channel, attempt, outcome, delivery in await cur.fetchall():
            key = (notification_id, channel, attempt)
            known = current.get(key, delivery)
            if moves_forward(known, state):
                current[key] = state
                await self.conn.execute(
                    """update notifier.attempts set delivery_state = %s, delivery_error = %s, delivery_at = now()
                        where notification_id = %s and channel = %s and attempt = %s""",
                    (state, str(code) if code is not None else None, notification_id, channel, attempt),
                )
                rerouted += await self._fall_back(notification_id, state, outcome, channel)
            await self.conn.execute(
                """update notifier.delivery_receipts set applied_at = now()
                    where provider_message_id = %s and state = %s""",
                (sid, state),
            )
        return rerouted

    async def _fall_back(self, notification_id: UUID, state: str, outcome: str, channel: str) -> int:
        cur = await self.conn.execute(
            """select state, channel, tried_channels from notifier.messages
                where notification_id = %s for update""",
            (notification_id,),
        )
        row = await cur.fetchone()
        if row is None or not falls_back(
            state=state,
            attempt_outcome=outcome,
            attempt_channel=channel,
            message_state=row[0],
            message_channel=row[1],
            tried=row[2],
        ):
            return 0
        # Pending again with no channel: the sender takes the plan's next channel not tried (this one now is).
        await self.conn.execute(
            """update notifier.messages
                  set state = 'pending', channel = null, tried_channels = tried_channels || %s::text,
                      attempts = 0, next_attempt_at = now(), updated_at = now()
                where notification_id = %s""",
            (channel, notification_id),
        )
        return 1

    async def forget_stale_receipts(self, older_than: datetime) -> None:
        """Receipts for messages that are not ours (or long gone) are not kept for ever."""
        await self.conn.execute(
            "delete from notifier.delivery_receipts where applied_at is null and received_at < %s",
            (older_than,),
        )

    # -- open requests -----------------------------------------------------------------------------------------------

    async def set_closed(self, request_id: str, closed: bool) -> None:
        await self.conn.execute(
            "update notifier.requests set closed = %s where request_id = %s", (closed, request_id)
        )

    async def open_requests(self, resident_id: UUID) -> Sequence[OpenRequest]:
        """The resident's requests still open (not closed, not merged into another), newest first."""
        cur = await self.conn.execute(
            """select request_id, jurisdiction_id from notifier.requests
                where resident_id = %s and not closed and merged_into is null
                order by submitted_at desc, request_id""",
            (resident_id,),
        )
        return [OpenRequest(r[0], r[1]) for r in await cur.fetchall()]

    async def language_of(self, resident_id: UUID) -> str | None:
        cur = await self.conn.execute(
            """select language from notifier.requests where resident_id = %s
                order by submitted_at desc limit 1""",
            (resident_id,),
        )
        row = await cur.fetchone()
        return row[0] if row else None

    async def jurisdiction_of(self, request_id: str) -> str | None:
        cur = await self.conn.execute(
            "select jurisdiction_id from notifier.requests where request_id = %s", (request_id,)
        )
        row = await cur.fetchone()
        return row[0] if row else None

    async def residents_of(self, request_id: str) -> Sequence[UUID]:
        """Those hearing of the request: its resident and those of the requests merged into it."""
        cur = await self.conn.execute(
            """select resident_id from notifier.requests
                where (request_id = %s or merged_into = %s) and resident_id is not null""",
            (request_id, request_id),
        )
        return [r[0] for r in await cur.fetchall()]

    async def resident_of(self, request_id: str) -> UUID | None:
        cur = await self.conn.execute(
            "select resident_id from notifier.requests where request_id = %s", (request_id,)
        )
        row = await cur.fetchone()
        return row[0] if row else None

    # -- residents' messages -----------------------------------------------------------------------------------------

    async def seen(self, inbound_id: str) -> bool:
        cur = await self.conn.execute(
            "select 1 from notifier.inbound_messages where inbound_id = %s", (inbound_id,)
        )
        return await cur.fetchone() is not None

    async def taken(self, inbound_id: str) -> None:
        await self.conn.execute(
            "insert into notifier.inbound_messages (inbound_id) values (%s) on conflict do nothing",
            (inbound_id,),
        )

    # -- conversations -----------------------------------------------------------------------------------------------

    async def conversation(self, resident_id: UUID) -> tuple[Conversation, Waiting | None] | None:
        cur = await self.conn.execute(
            """select request_id, choices, pending_id, pending_text, pending_channel, updated_at
                 from notifier.conversations where resident_id = %s for update""",
            (resident_id,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        waiting = Waiting(row[2], bytes(row[3]), row[4]) if row[2] and row[3] is not None else None
        return Conversation(row[0], tuple(row[1]), waiting is not None, row[5]), waiting

    async def talking_about(self, resident_id: UUID, request_id: str, at: datetime) -> None:
        await self.conn.execute(
            """insert into notifier.conversations (resident_id, request_id, updated_at) values (%s, %s, %s)
               on conflict (resident_id) do update
                 set request_id = excluded.request_id, choices = '{}', pending_id = null, pending_text = null,
                     pending_channel = null, updated_at = excluded.updated_at""",
            (resident_id, request_id, at),
        )

    async def ask(self, resident_id: UUID, choices: Sequence[str], waiting: Waiting, at: datetime) -> None:
        await self.conn.execute(
            """insert into notifier.conversations
                 (resident_id, request_id, choices, pending_id, pending_text, pending_channel, updated_at)
               values (%s, null, %s, %s, %s, %s, %s)
               on conflict (resident_id) do update
                 set request_id = null, choices = excluded.choices, pending_id = excluded.pending_id,
                     pending_text = excluded.pending_text, pending_channel = excluded.pending_channel,
                     updated_at = excluded.updated_at""",
            (resident_id, list(choices), waiting.inbound_id, waiting.sealed_text, waiting.channel, at),
        )


@contextlib.asynccontextmanager
async def inbound_transaction(pool: AsyncConnectionPool) -> AsyncIterator[PostgresInboundStore]:
    async with pool.connection() as conn, conn.transaction():
        yield PostgresInboundStore(conn)
