"""The notifier's tables in PostgreSQL (schema `notifier`), on one transaction's connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events.payloads import Channel, MessageKind, NotificationChannel
from civicloop_events.personal_data import SealedPersonalData
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.service_layer.ports import Attempt, QueuedMessage, Resident, ToldNotice
from civicloop_notifier.service_layer.surveys import AskedSurvey

_RESIDENT_COLUMNS = (
    "r.request_id, r.jurisdiction_id, r.resident_id, r.contact, r.preferred_channel, r.language"
)


def _resident(row: Sequence[Any]) -> Resident:
    return Resident(
        request_id=row[0],
        jurisdiction_id=row[1],
        resident_id=row[2],
        contact=SealedPersonalData.model_validate(row[3]),
        preferred_channel=Channel(row[4]),
        language=row[5],
    )


class PostgresNotifierStore:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    # -- the consumer's side ---------------------------------------------------------------------------------------

    async def remember_request(self, resident: Resident, *, submitted_at: datetime) -> None:
        await self.conn.execute(
            """insert into notifier.requests
                 (request_id, jurisdiction_id, resident_id, contact, preferred_channel, language, submitted_at)
               values (%s, %s, %s, %s, %s, %s, %s)
               on conflict (request_id) do nothing""",
            (
                resident.request_id,
                resident.jurisdiction_id,
                resident.resident_id,
                Jsonb(resident.contact.model_dump(mode="json")),
                resident.preferred_channel.value,
                resident.language,
                submitted_at,
            ),
        )

    async def merge(self, duplicate: str, original: str, *, at: datetime) -> None:
        # The duplicate and whoever already followed it now follow the original (a chain ends at its root).
        await self.conn.execute(
            """update notifier.requests set merged_into = %s, merged_at = %s
                where request_id = %s or merged_into = %s""",
            (original, at, duplicate, duplicate),
        )

    async def audience(self, request_id: str, *, at: datetime) -> Sequence[Resident]:
        # Followers hear what happened to the original from their merge on: the original's partition may be read
        # after the duplicate's, so the merge's time, not the order of reading, decides.
        cur = await self.conn.execute(
            f"""select {_RESIDENT_COLUMNS} from notifier.requests r
                 where (r.request_id = %s or (r.merged_into = %s and r.merged_at <= %s))
                   and r.contact is not null and r.preferred_channel <> 'none'
                 order by r.request_id = %s desc, r.request_id""",
            (request_id, request_id, at, request_id),
        )
        return [_resident(row) for row in await cur.fetchall()]

    async def told_since(self, request_id: str, since: datetime) -> Sequence[ToldNotice]:
        cur = await self.conn.execute(
            """select distinct on (cause_event_id) cause_event_id, occurred_at, kind, notice
                 from notifier.messages where about_request_id = %s and occurred_at >= %s
                order by cause_event_id""",
            (request_id, since),
        )
        rows = sorted(await cur.fetchall(), key=lambda r: r[1])
        return [ToldNotice(r[0], r[1], MessageKind(r[2]), r[3]) for r in rows]

    async def queue(
        self,
        *,
        notification_id: UUID,
        cause_event_id: UUID,
        occurred_at: datetime,
        resident: Resident,
        about_request_id: str,
        kind: MessageKind,
        notice: Mapping[str, Any],
        not_before: datetime,
    ) -> bool:
        cur = await self.conn.execute(
            """insert into notifier.messages
                 (notification_id, cause_event_id, occurred_at, resident_id, request_id, about_request_id,
                  jurisdiction_id, kind, notice, next_attempt_at)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict do nothing""",
            (
                notification_id,
                cause_event_id,
                occurred_at,
                resident.resident_id,
                resident.request_id,
                about_request_id,
                resident.jurisdiction_id,
                kind.value,
                Jsonb(dict(notice)),
                not_before,
            ),
        )
        return cur.rowcount == 1

    # -- the sender's side -----------------------------------------------------------------------------------------

    async def claim_due(self, now: datetime) -> QueuedMessage | None:
        cur = await self.conn.execute(
            f"""select m.notification_id, m.cause_event_id, m.about_request_id, m.kind, m.notice, m.tried_channels,
                       m.channel, m.attempts, {_RESIDENT_COLUMNS}
                  from notifier.messages m join notifier.requests r on r.request_id = m.request_id
                 where m.state = 'pending' and m.next_attempt_at <= %s
                   and not exists (select 1 from notifier.messages e
                                    where e.resident_id = m.resident_id and e.state = 'pending' and e.seq < m.seq)
                 order by m.next_attempt_at, m.seq
                 limit 1
                 for update of m skip locked""",
            (now,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        return QueuedMessage(
            notification_id=row[0],
            cause_event_id=row[1],
            about_request_id=row[2],
            kind=MessageKind(row[3]),
            notice=row[4],
            tried_channels=tuple(NotificationChannel(c) for c in row[5]),
            channel=NotificationChannel(row[6]) if row[6] else None,
            attempts=row[7],
            resident=_resident(row[8:]),
        )

    async def postpone(self, notification_id: UUID, until: datetime) -> None:
        await self.conn.execute(
            "update notifier.messages set next_attempt_at = %s, updated_at = now() where notification_id = %s",
            (until, notification_id),
        )

    async def opted_out(
        self, digests: Mapping[NotificationChannel, bytes]
    ) -> Collection[NotificationChannel]:
        if not digests:
            return set()
        pairs = [(d, c.value) for c, d in digests.items()]
        cur = await self.conn.execute(
            """select o.channel from notifier.opt_outs o
                 join unnest(%s::bytea[], %s::text[]) as asked(digest, channel)
                   on asked.digest = o.digest and asked.channel = o.channel
                where o.opted_out""",
            ([p[0] for p in pairs], [p[1] for p in pairs]),
        )
        return {NotificationChannel(row[0]) for row in await cur.fetchall()}

    async def set_opt_out(self, digest: bytes, channel: NotificationChannel, opted_out: bool) -> None:
        await self.conn.execute(
            """insert into notifier.opt_outs (digest, channel, opted_out) values (%s, %s, %s)
               on conflict (digest, channel) do update set opted_out = excluded.opted_out, changed_at = now()""",
            (digest, channel.value, opted_out),
        )

    async def last_survey_asked(self, resident_id: UUID) -> AskedSurvey | None:
        """The request of the last close this resident was told of (and asked "was it fixed?")."""
        cur = await self.conn.execute(
            """select about_request_id, jurisdiction_id, cause_event_id from notifier.messages
                where resident_id = %s and kind = 'closed' and state = 'sent'
                order by seq desc limit 1""",
            (resident_id,),
        )
        row = await cur.fetchone()
        return AskedSurvey(request_id=row[0], jurisdiction_id=row[1], cause_event_id=row[2]) if row else None

    async def record_attempt(self, notification_id: UUID, attempt: Attempt) -> None:
        await self.conn.execute(
            """insert into notifier.attempts
                 (notification_id, channel, attempt, provider, provider_message_id, outcome, error)
               values (%s, %s, %s, %s, %s, %s, %s)""",
            (
                notification_id,
                attempt.channel.value,
                attempt.attempt,
                attempt.provider,
                attempt.provider_message_id,
                attempt.outcome,
                attempt.error,
            ),
        )

    async def mark(
        self,
        notification_id: UUID,
        *,
        state: str,
        channel: NotificationChannel | None,
        tried: Collection[NotificationChannel],
        attempts: int,
        next_attempt_at: datetime | None = None,
    ) -> None:
        await self.conn.execute(
            """update notifier.messages
                  set state = %s, channel = %s, tried_channels = %s, attempts = %s,
                      next_attempt_at = coalesce(%s, next_attempt_at), updated_at = now()
                where notification_id = %s""",
            (
                state,
                channel.value if channel else None,
                [c.value for c in tried],
                attempts,
                next_attempt_at,
                notification_id,
            ),
        )


@contextlib.asynccontextmanager
async def store_transaction(pool: AsyncConnectionPool) -> AsyncIterator[PostgresNotifierStore]:
    """The notifier's tables on one transaction of a pooled connection."""
    async with pool.connection() as conn, conn.transaction():
        yield PostgresNotifierStore(conn)
