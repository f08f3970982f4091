"""The text-reporting tables (`notifier.text_report_*`) on one transaction's connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from civicloop_events import Event, ServiceDefined
from civicloop_events.payloads import ServiceAttribute
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.domain.text_report import Conversation, ReportableService


class PostgresTextReportStore:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def conversation(self, sender_digest: bytes, *, lock: bool) -> Conversation | None:
        if lock:
            # The row exists before it is locked, so a number's first two texts also wait for each other.
            await self.conn.execute(
                "insert into notifier.text_report_conversations (sender_digest, conversation, updated_at)"
                " values (%s, 'null', now()) on conflict (sender_digest) do nothing",
                (sender_digest,),
            )
        cur = await self.conn.execute(
            "select conversation from notifier.text_report_conversations where sender_digest = %s"
            + (" for update" if lock else ""),
            (sender_digest,),
        )
        row = await cur.fetchone()
        return None if row is None or row[0] is None else Conversation.model_validate(row[0])

    async def save_conversation(self, sender_digest: bytes, conversation: Conversation) -> None:
        await self.conn.execute(
            "insert into notifier.text_report_conversations (sender_digest, conversation, updated_at)"
            " values (%s, %s, %s) on conflict (sender_digest) do update set"
            " conversation = excluded.conversation, updated_at = excluded.updated_at",
            (sender_digest, Jsonb(conversation.model_dump(mode="json")), conversation.updated_at),
        )

    async def reportable_services(self, jurisdiction_id: str) -> list[ReportableService]:
        cur = await self.conn.execute(
            "select service_code, service_name, keywords, attributes from notifier.text_report_services"
            " where jurisdiction_id = %s and active order by lower(service_name), service_code",
            (jurisdiction_id,),
        )
        return [
            ReportableService(
                code=code,
                name=name,
                keywords=tuple(keywords),
                attributes=tuple(ServiceAttribute.model_validate(a) for a in attributes),
            )
            for code, name, keywords, attributes in await cur.fetchall()
        ]

    async def define_service(self, event: Event[Any]) -> None:
        p: ServiceDefined = event.payload
        await self.conn.execute(
            "insert into notifier.text_report_services (jurisdiction_id, service_code, service_name, keywords,"
            " attributes, active, event_id, defined_at) values (%s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (jurisdiction_id, service_code) do update set service_name = excluded.service_name,"
            " keywords = excluded.keywords, attributes = excluded.attributes, active = excluded.active,"
            " event_id = excluded.event_id, defined_at = excluded.defined_at",
            (
                event.jurisdiction_id,
                p.service_code,
                p.service_name,
                Jsonb(list(p.keywords)),
                Jsonb([a.model_dump(mode="json") for a in p.attributes]),
                p.active,
                event.event_id,
                event.occurred_at,
            ),
        )


@contextlib.asynccontextmanager
async def text_report_transaction(pool: AsyncConnectionPool) -> AsyncIterator[PostgresTextReportStore]:
    async with pool.connection() as conn, conn.transaction():
        yield PostgresTextReportStore(conn)
