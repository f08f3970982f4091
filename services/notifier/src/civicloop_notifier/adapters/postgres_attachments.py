"""The fold's record of visit changes and public photos (schema `notifier`), on one transaction's connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from civicloop_notifier.service_layer.notice_facts import VisitChange

MAX_PHOTOS = 10


class PostgresNoticeFactsStore:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def visit_changed(
        self,
        *,
        cause_event_id: UUID,
        visit_id: str,
        request_id: str,
        duration_minutes: int | None,
        address: str | None,
    ) -> VisitChange:
        # The next number of the visit, unless this event was numbered already (a replay: its row is returned as it
        # was); a change without a window or a place (a cancellation) keeps the last one seen.
        cur = await self.conn.execute(
            """insert into notifier.visit_changes
                 (cause_event_id, visit_id, request_id, sequence, duration_minutes, address)
               select %(event)s, %(visit)s, %(request)s,
                      coalesce((select max(sequence) + 1 from notifier.visit_changes where visit_id = %(visit)s), 0),
                      coalesce(%(duration)s, (select duration_minutes from notifier.visit_changes
                                               where visit_id = %(visit)s order by sequence desc limit 1)),
                      coalesce(%(address)s, (select address from notifier.visit_changes
                                              where visit_id = %(visit)s order by sequence desc limit 1))
               on conflict (cause_event_id) do update set cause_event_id = excluded.cause_event_id
               returning sequence, duration_minutes, address""",
            {
                "event": cause_event_id,
                "visit": visit_id,
                "request": request_id,
                "duration": duration_minutes,
                "address": address,
            },
        )
        row = await cur.fetchone()
        if row is None:  # an insert or its conflict's update always returns its row
            raise RuntimeError("visit change not recorded")
        return VisitChange(row[0], row[1], row[2])

    async def remember_media(self, request_id: str, urls: Sequence[str], *, at: datetime) -> None:
        for url in urls:
            await self.conn.execute(
                """insert into notifier.request_media (request_id, url, seen_at) values (%s, %s, %s)
                   on conflict do nothing""",
                (request_id, url, at),
            )

    async def media_of(self, request_id: str) -> Sequence[str]:
        cur = await self.conn.execute(
            """select url from notifier.request_media where request_id = %s order by seen_at, url limit %s""",
            (request_id, MAX_PHOTOS),
        )
        return [row[0] for row in await cur.fetchall()]
