"""The view in PostgreSQL, written inside a consumer's transaction (`ViewStore`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import psycopg
from civicloop_events.payloads import SlaDefined
from psycopg.types.json import Jsonb

from civicloop_selfheal.domain.codec import view_from_json, view_to_json
from civicloop_selfheal.domain.view import BodyView, ClusterView, RequestView
from civicloop_selfheal.service_layer.ports import ViewStore


class PostgresViewStore(ViewStore):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def requests(self, numbers: Collection[str]) -> dict[str, RequestView]:
        cur = await self.conn.execute(
            "select view from selfheal.requests where request_number = any(%s)", (list(numbers),)
        )
        return {v.number: v for v in (view_from_json(row[0]) for row in await cur.fetchall())}

    async def save_requests(self, views: Iterable[RequestView]) -> None:
        rows = [(v.number, v.jurisdiction_id, v.closed, Jsonb(view_to_json(v))) for v in views]
        if not rows:
            return
        async with self.conn.cursor() as cur:
            await cur.executemany(
                "insert into selfheal.requests (request_number, jurisdiction_id, closed, view)"
                " values (%s, %s, %s, %s) on conflict (request_number) do update"
                " set closed = excluded.closed, view = excluded.view, updated_at = now()",
                rows,
            )

    async def save_cluster(self, cluster: ClusterView) -> None:
        await self.conn.execute(
            "insert into selfheal.clusters"
            " (cluster_id, jurisdiction_id, service_code, request_numbers, detected_at, area_ids)"
            " values (%s, %s, %s, %s, %s, %s) on conflict (cluster_id) do nothing",
            (
                cluster.cluster_id,
                cluster.jurisdiction_id,
                cluster.service_code,
                list(cluster.request_numbers),
                cluster.detected_at,
                list(cluster.area_ids),
            ),
        )

    async def body(self, jurisdiction_id: str, body_id: str) -> BodyView | None:
        cur = await self.conn.execute(
            "select paused, failing_since, failures from selfheal.bodies"
            " where jurisdiction_id = %s and body_id = %s",
            (jurisdiction_id, body_id),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        return BodyView(jurisdiction_id, body_id, paused=row[0], failing_since=row[1], failures=row[2])

    async def save_body(self, body: BodyView) -> None:
        await self.conn.execute(
            "insert into selfheal.bodies (jurisdiction_id, body_id, paused, failing_since, failures)"
            " values (%s, %s, %s, %s, %s) on conflict (jurisdiction_id, body_id) do update"
            " set paused = excluded.paused, failing_since = excluded.failing_since, failures = excluded.failures",
            (body.jurisdiction_id, body.body_id, body.paused, body.failing_since, body.failures),
        )

    async def save_sla(self, jurisdiction_id: str, definition: SlaDefined) -> None:
        await self.conn.execute(
            "insert into selfheal.sla_definitions (jurisdiction_id, definition) values (%s, %s)"
            " on conflict (jurisdiction_id) do update set definition = excluded.definition",
            (jurisdiction_id, Jsonb(definition.model_dump(mode="json"))),
        )
