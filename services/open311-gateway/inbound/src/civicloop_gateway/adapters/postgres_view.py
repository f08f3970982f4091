"""The Open311 view in PostgreSQL: the rows the folds of `service_layer/folds.py` read and write, bound to the
consumer runner's transaction; the two handlers bind them.

No exact point is kept: `lat`, `long` and `address` hold the public place GETs serve, and `location` (geography,
for the radius search) holds the same public point; a check on the table refuses anything else (gateway_0006).

A request's service_name comes from the catalogue; the service lock the folds take is a transaction-scoped advisory
lock on (jurisdiction, service_code).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events import Event
from civicloop_events.consumer import Handler
from civicloop_events.payloads import RequestStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from civicloop_gateway.domain.catalogue import PartnerKeyRow, ServiceRow
from civicloop_gateway.domain.request_view import RequestRow, UpdateRow
from civicloop_gateway.service_layer.folds import (
    CatalogueRows,
    RequestViewRows,
    when_config_event_update_catalogue,
    when_request_event_update_view,
)

# Every field of a request row is a column of the same name, but the radius search's point (`point_lat`,
# `point_long`): it is stored as the geography `location`, and read back from it (the public point).
_POINT_FIELDS = ("point_lat", "point_long")
_ROW_COLUMNS = tuple(f.name for f in fields(RequestRow) if f.name not in _POINT_FIELDS)
_POINT_COLUMNS = "ST_Y(location::geometry) as point_lat, ST_X(location::geometry) as point_long"


async def _lock_service(conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, service_code: str) -> None:
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended(%s, 311))",
        (f"gateway.service:{jurisdiction_id}:{service_code}",),
    )


async def load_request(conn: psycopg.AsyncConnection[Any], service_request_id: str) -> RequestRow | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {', '.join(_ROW_COLUMNS)}, {_POINT_COLUMNS} from gateway.requests"
        " where service_request_id = %s for update",
        (service_request_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    row["civicloop_status"] = RequestStatus(row["civicloop_status"])
    row["media_urls"] = tuple(row["media_urls"] or ())
    return RequestRow(**row)


async def _service_name(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, service_code: str
) -> str | None:
    cur = await conn.execute(
        "select service_name from gateway.services where jurisdiction_id = %s and service_code = %s",
        (jurisdiction_id, service_code),
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def _store_request(conn: psycopg.AsyncConnection[Any], row: RequestRow) -> None:
    values = {c: getattr(row, c) for c in _ROW_COLUMNS}
    values["civicloop_status"] = row.civicloop_status.value
    values["media_urls"] = list(row.media_urls)
    values |= {"point_lat": row.point_lat, "point_long": row.point_long}
    names = ", ".join(_ROW_COLUMNS)
    placeholders = ", ".join(f"%({c})s" for c in _ROW_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _ROW_COLUMNS if c != "service_request_id")
    await conn.execute(
        f"insert into gateway.requests ({names}, location) values ({placeholders},"
        " case when %(point_lat)s::double precision is null then null"
        " else ST_SetSRID(ST_MakePoint(%(point_long)s, %(point_lat)s), 4326)::geography end)"
        f" on conflict (service_request_id) do update set {updates}, location = excluded.location",
        values,
    )


async def _store_update(conn: psycopg.AsyncConnection[Any], update: UpdateRow) -> None:
    await conn.execute(
        "insert into gateway.request_updates (update_id, service_request_id, jurisdiction_id, status,"
        " updated_datetime, description, media_url, external_status_code)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (update_id) do nothing",
        (
            update.update_id,
            update.service_request_id,
            update.jurisdiction_id,
            update.status,
            update.updated_datetime,
            update.description,
            update.media_url,
            update.external_status_code,
        ),
    )


class PostgresRequestViewRows(RequestViewRows):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def lock_service(self, jurisdiction_id: str, service_code: str) -> None:
        await _lock_service(self.conn, jurisdiction_id, service_code)

    async def service_name(self, jurisdiction_id: str, service_code: str) -> str | None:
        return await _service_name(self.conn, jurisdiction_id, service_code)

    async def load_for_update(self, service_request_id: str) -> RequestRow | None:
        return await load_request(self.conn, service_request_id)

    async def save_request(self, row: RequestRow) -> None:
        await _store_request(self.conn, row)

    async def save_update(self, update: UpdateRow) -> None:
        await _store_update(self.conn, update)


class PostgresCatalogueRows(CatalogueRows):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def lock_service(self, jurisdiction_id: str, service_code: str) -> None:
        await _lock_service(self.conn, jurisdiction_id, service_code)

    async def save_service(self, row: ServiceRow) -> None:
        await _store_service(self.conn, row)

    async def save_partner_key(self, row: PartnerKeyRow) -> None:
        await self.conn.execute(
            "insert into gateway.partners (jurisdiction_id, client_id, name, key_id, key_sha256, authorised_at,"
            " revoked_at, last_event_id) values (%s, %s, %s, %s, %s, %s, null, %s)"
            " on conflict (jurisdiction_id, client_id, key_id) do update set name = excluded.name,"
            " key_sha256 = excluded.key_sha256, authorised_at = excluded.authorised_at, revoked_at = null,"
            " last_event_id = excluded.last_event_id",
            (
                row.jurisdiction_id,
                row.client_id,
                row.name,
                row.key_id,
                row.key_sha256,
                row.authorised_at,
                row.last_event_id,
            ),
        )

    async def revoke_partner_key(
        self, jurisdiction_id: str, client_id: str, key_id: str, *, at: datetime, event_id: UUID
    ) -> None:
        await self.conn.execute(
            "update gateway.partners set revoked_at = coalesce(revoked_at, %s), last_event_id = %s"
            " where jurisdiction_id = %s and client_id = %s and key_id = %s",
            (at, event_id, jurisdiction_id, client_id, key_id),
        )


def request_event_handler(*, resolution: int) -> Handler:
    """The handler of `requests.events`, making submitted places public at H3 `resolution`."""

    async def handle(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await when_request_event_update_view(PostgresRequestViewRows(conn), event, resolution=resolution)

    return handle


async def apply_config_event(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
    """ConsumerRunner handler of `jurisdiction.config`: services, jurisdictions and partner keys."""
    await when_config_event_update_catalogue(PostgresCatalogueRows(conn), event)


async def _store_service(conn: psycopg.AsyncConnection[Any], row: ServiceRow) -> None:
    await conn.execute(
        "insert into gateway.services (jurisdiction_id, service_code, service_name, description, metadata, type,"
        " keywords, service_group, attributes, active, changeset, last_event_id)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (jurisdiction_id, service_code) do update set service_name = excluded.service_name,"
        " description = excluded.description, metadata = excluded.metadata, type = excluded.type,"
        " keywords = excluded.keywords, service_group = excluded.service_group, attributes = excluded.attributes,"
        " active = excluded.active, changeset = excluded.changeset, last_event_id = excluded.last_event_id",
        (
            row.jurisdiction_id,
            row.service_code,
            row.service_name,
            row.description,
            row.metadata,
            row.type,
            row.keywords,
            row.group,
            Jsonb(list(row.attributes)),
            row.active,
            row.changeset,
            row.last_event_id,
        ),
    )
    await conn.execute(
        "insert into gateway.jurisdictions (jurisdiction_id, changeset, first_seen_at) values (%s, %s, %s)"
        " on conflict (jurisdiction_id) do update"
        " set changeset = greatest(gateway.jurisdictions.changeset, excluded.changeset)",
        (row.jurisdiction_id, row.changeset, row.changeset),
    )
    # Requests show the catalogue's current name of their service.
    await conn.execute(
        "update gateway.requests set service_name = %s"
        " where jurisdiction_id = %s and service_code = %s and service_name is distinct from %s",
        (row.service_name, row.jurisdiction_id, row.service_code, row.service_name),
    )
