"""The govDelivery feed's tables (schema `notifier`), on one transaction's connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from civicloop_notifier.domain.feed import FeedKind, FeedRequest, FeedUpdate
from civicloop_notifier.service_layer.feed import QueuedBulletin


class PostgresFeedStore:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    # -- the fold's side -------------------------------------------------------------------------------------------

    async def remember(self, request: FeedRequest) -> None:
        await self.conn.execute(
            """insert into notifier.feed_requests (request_id, jurisdiction_id, service_code) values (%s, %s, %s)
               on conflict (request_id) do nothing""",
            (request.request_id, request.jurisdiction_id, request.service_code),
        )

    async def request(self, request_id: str) -> FeedRequest | None:
        cur = await self.conn.execute(
            """select request_id, jurisdiction_id, service_code, district, public_address, placed
                 from notifier.feed_requests where request_id = %s""",
            (request_id,),
        )
        row = await cur.fetchone()
        return FeedRequest(*row) if row else None

    async def recategorise(self, request_id: str, service_code: str) -> None:
        await self.conn.execute(
            "update notifier.feed_requests set service_code = %s where request_id = %s",
            (service_code, request_id),
        )

    async def place(self, request_id: str, *, district: str | None, public_address: str | None) -> None:
        await self.conn.execute(
            """update notifier.feed_requests set district = %s, public_address = %s, placed = true
                where request_id = %s""",
            (district, public_address, request_id),
        )

    async def queue(
        self,
        *,
        bulletin_id: UUID,
        cause_event_id: UUID,
        occurred_at: datetime,
        request: FeedRequest,
        topics: tuple[str, ...],
        update: FeedUpdate,
        not_before: datetime,
    ) -> bool:
        cur = await self.conn.execute(
            """insert into notifier.feed_bulletins
                 (bulletin_id, cause_event_id, occurred_at, request_id, jurisdiction_id, topics, kind, facts,
                  next_attempt_at)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict do nothing""",
            (
                bulletin_id,
                cause_event_id,
                occurred_at,
                request.request_id,
                request.jurisdiction_id,
                list(topics),
                update.kind.value,
                Jsonb(dict(update.facts)),
                not_before,
            ),
        )
        return cur.rowcount == 1

    # -- the sender's side -----------------------------------------------------------------------------------------

    async def claim_due(self, now: datetime) -> QueuedBulletin | None:
        # A request's bulletins go in the order they were queued: only its oldest pending one is taken.
        cur = await self.conn.execute(
            """select b.bulletin_id, b.request_id, b.jurisdiction_id, b.topics, b.kind, b.facts, b.attempts
                 from notifier.feed_bulletins b
                where b.state = 'pending' and b.next_attempt_at <= %s
                  and not exists (select 1 from notifier.feed_bulletins e
                                   where e.request_id = b.request_id and e.state = 'pending' and e.seq < b.seq)
                order by b.next_attempt_at, b.seq
                limit 1
                for update of b skip locked""",
            (now,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        return QueuedBulletin(
            bulletin_id=row[0],
            request_id=row[1],
            jurisdiction_id=row[2],
            topics=tuple(row[3]),
            update=FeedUpdate(FeedKind(row[4]), row[5]),
            attempts=row[6],
        )

    async def record_attempt(
        self,
        bulletin_id: UUID,
        *,
        attempt: int,
        provider: str,
        provider_message_id: str | None,
        outcome: str,
        error: str | None,
    ) -> None:
        await self.conn.execute(
            """insert into notifier.feed_attempts
                 (bulletin_id, attempt, provider, provider_message_id, outcome, error)
               values (%s, %s, %s, %s, %s, %s)""",
            (bulletin_id, attempt, provider, provider_message_id, outcome, error),
        )

    async def mark(
        self,
        bulletin_id: UUID,
        *,
        state: str,
        attempts: int,
        provider_id: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        await self.conn.execute(
            """update notifier.feed_bulletins
                  set state = %s, attempts = %s, provider_id = coalesce(%s, provider_id),
                      next_attempt_at = coalesce(%s, next_attempt_at), updated_at = now()
                where bulletin_id = %s""",
            (state, attempts, provider_id, next_attempt_at, bulletin_id),
        )
