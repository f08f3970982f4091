"""The Open311 view in PostgreSQL: the rows the folds of `service_layer/folds.py` read and write, bound to the
consumer runner's transaction; the two handlers bind them.

No exact point is kept: `lat`, `long` and `address` hold the public place GETs serve, and `location` (geography,
for the radius search) holds the same public point; a check on the table refuses anything else (gateway_0006).

A request's service_name comes from the catalogue; the service lock the folds take is a transaction-scoped advisory
lock on (jurisdiction, service_code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events import Event
from civicloop_events.consumer import BatchHandler
from civicloop_events.payloads import RequestStatus
from civicloop_open311.documents import REQUEST_FIELDS
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from civicloop_gateway.domain.catalogue import PartnerKeyRow, ServiceRow
from civicloop_gateway.domain.request_view import (
    RENDERING,
    ImportRow,
    RequestRow,
    ServiceKey,
    UpdateRow,
    rendered,
    rendered_fields,
)
from civicloop_gateway.service_layer.folds import (
    CatalogueRows,
    RequestViewRows,
    when_config_events_update_catalogue,
    when_request_events_update_view,
)

# Every field of a request row is a column of the same name, but the radius search's point (`point_lat`,
# `point_long`): it is stored as the geography `location`, and read back from it (the public point).
_POINT_FIELDS = ("point_lat", "point_long")
_ROW_COLUMNS = tuple(f.name for f in fields(RequestRow) if f.name not in _POINT_FIELDS)
_POINT_COLUMNS = "ST_Y(location::geometry) as point_lat, ST_X(location::geometry) as point_long"

# The SQL type of each field as a batch's rows carry it (one jsonb document: `jsonb_to_recordset`).
_ROW_TYPES = {
    "requested_datetime": "timestamptz",
    "updated_datetime": "timestamptz",
    "expected_datetime": "timestamptz",
    "last_event_id": "uuid",
    "lat": "double precision",
    "long": "double precision",
    "point_lat": "double precision",
    "point_long": "double precision",
    "media_urls": "jsonb",
    "h3_resolution": "smallint",
}
# Each row's Open311 object as the reads serve it (`request_view.rendered`), written with the row (gateway_0008).
_RENDERED_COLUMNS = ("open311_json", "open311_xml", "open311_rendering")
_ROW_RECORD = ", ".join(
    [f"{f.name} {_ROW_TYPES.get(f.name, 'text')}" for f in fields(RequestRow)]
    + ["open311_json text", "open311_xml text", "open311_rendering smallint"]
)
_WRITTEN_COLUMNS = (*_ROW_COLUMNS, *_RENDERED_COLUMNS)
_ROW_VALUES = ", ".join(
    "array(select jsonb_array_elements_text(r.media_urls))" if c == "media_urls" else f"r.{c}"
    for c in _WRITTEN_COLUMNS
)
_UPSERT_REQUESTS = (
    f"insert into gateway.requests ({', '.join(_WRITTEN_COLUMNS)}, location)"
    f" select {_ROW_VALUES}, case when r.point_lat is null then null"
    " else ST_SetSRID(ST_MakePoint(r.point_long, r.point_lat), 4326)::geography end"
    f" from jsonb_to_recordset(%s) as r({_ROW_RECORD})"
    " on conflict (service_request_id) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in _WRITTEN_COLUMNS if c != "service_request_id")
    + ", location = excluded.location"
)
_UPDATE_COLUMNS = tuple(f.name for f in fields(UpdateRow))
_UPDATE_TYPES = {"update_id": "uuid", "updated_datetime": "timestamptz"}
_UPDATE_RECORD = ", ".join(f"{c} {_UPDATE_TYPES.get(c, 'text')}" for c in _UPDATE_COLUMNS)
_INSERT_UPDATES = (
    f"insert into gateway.request_updates ({', '.join(_UPDATE_COLUMNS)})"
    f" select {', '.join(_UPDATE_COLUMNS)} from jsonb_to_recordset(%s)"
    f" as r({_UPDATE_RECORD})"
    " on conflict (update_id) do nothing"
)


def _json_value(value: object) -> object:
    """What `json` does not write itself: times (ISO 8601, offset kept), ids, statuses."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, RequestStatus):
        return value.value
    raise TypeError(f"not a view value: {type(value).__name__}")


def _rows_document(rows: Sequence[Any]) -> Jsonb:
    """Dataclass rows as one jsonb array (floats keep every digit: `repr` in, `float8` out)."""
    return _document([vars(r) for r in rows])


def _document(rows: list[dict[str, Any]]) -> Jsonb:
    return Jsonb(rows, dumps=partial(json.dumps, default=_json_value))


def _with_rendering(row: RequestRow) -> dict[str, Any]:
    """The row's fields and its Open311 object in both formats (None for both when it cannot be written)."""
    shown = rendered(row)
    return {
        **vars(row),
        "open311_json": shown.json if shown else None,
        "open311_xml": shown.xml if shown else None,
        "open311_rendering": RENDERING if shown else None,
    }


async def lock_services(conn: psycopg.AsyncConnection[Any], services: Sequence[ServiceKey]) -> None:
    """The services' advisory locks, in the order of their keys: every fold takes them so, so none waits in a cycle."""
    await conn.execute(
        "select pg_advisory_xact_lock(k) from ("
        " select distinct hashtextextended('gateway.service:' || j || ':' || c, 311) as k"
        " from unnest(%s::text[], %s::text[]) as s(j, c) order by 1) as keys",
        ([j for j, _ in services], [c for _, c in services]),
    )


def _request_row(row: dict[str, Any]) -> RequestRow:
    row["civicloop_status"] = RequestStatus(row["civicloop_status"])
    row["media_urls"] = tuple(row["media_urls"] or ())
    return RequestRow(**row)


async def load_requests(conn: psycopg.AsyncConnection[Any], ids: Sequence[str]) -> dict[str, RequestRow]:
    """The stored rows of `ids`, locked in the order of their ids."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {', '.join(_ROW_COLUMNS)}, {_POINT_COLUMNS} from gateway.requests"
        " where service_request_id = any(%s) order by service_request_id for update",
        (list(ids),),
    )
    return {r.service_request_id: r for r in map(_request_row, await cur.fetchall())}


async def _service_names(
    conn: psycopg.AsyncConnection[Any], services: Sequence[ServiceKey]
) -> dict[ServiceKey, str]:
    cur = await conn.execute(
        "select s.jurisdiction_id, s.service_code, s.service_name from gateway.services s"
        " join unnest(%s::text[], %s::text[]) as k(j, c) on s.jurisdiction_id = k.j and s.service_code = k.c",
        ([j for j, _ in services], [c for _, c in services]),
    )
    return {(j, c): name for j, c, name in await cur.fetchall()}


class PostgresRequestViewRows(RequestViewRows):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def lock_services(self, services: Sequence[ServiceKey]) -> None:
        await lock_services(self.conn, services)

    async def service_names(self, services: Sequence[ServiceKey]) -> dict[ServiceKey, str]:
        return await _service_names(self.conn, services)

    async def load_for_update(self, service_request_ids: Sequence[str]) -> dict[str, RequestRow]:
        return await load_requests(self.conn, service_request_ids)

    async def save_requests(self, rows: Sequence[RequestRow]) -> None:
        await self.conn.execute(_UPSERT_REQUESTS, (_document([_with_rendering(r) for r in rows]),))

    async def save_updates(self, updates: Sequence[UpdateRow]) -> None:
        await self.conn.execute(_INSERT_UPDATES, (_rows_document(updates),))

    async def imports_of(self, service_request_ids: Sequence[str]) -> dict[str, ImportRow]:
        cur = await self.conn.execute(
            "select service_request_id, agency_responsible, event_id from gateway.imported_requests"
            " where service_request_id = any(%s)",
            (list(service_request_ids),),
        )
        return {r[0]: ImportRow(*r) for r in await cur.fetchall()}

    async def save_imports(self, imports: Sequence[ImportRow]) -> None:
        await self.conn.execute(
            "insert into gateway.imported_requests (service_request_id, agency_responsible, event_id)"
            " select * from unnest(%s::text[], %s::text[], %s::uuid[]) on conflict do nothing",
            (
                [i.service_request_id for i in imports],
                [i.agency_responsible for i in imports],
                [i.event_id for i in imports],
            ),
        )


class PostgresCatalogueRows(CatalogueRows):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def lock_services(self, services: Sequence[ServiceKey]) -> None:
        await lock_services(self.conn, services)

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


_STALE_RENDERINGS = (
    f"select {', '.join(REQUEST_FIELDS)} from gateway.requests"
    " where service_request_id > %s and open311_rendering is distinct from %s"
    " order by service_request_id limit %s for update skip locked"
)
_WRITE_RENDERINGS = (
    "update gateway.requests r set open311_json = d.j, open311_xml = d.x, open311_rendering = d.v"
    " from unnest(%s::text[], %s::text[], %s::text[], %s::smallint[]) as d(id, j, x, v)"
    " where r.service_request_id = d.id"
)


def render_stale_batch(conn: psycopg.Connection[Any], *, after: str = "", batch: int = 2000) -> str | None:
    """Write the Open311 rendering of up to `batch` rows past `after` (by id) whose rendering is missing or of
    another version (rows from before gateway_0008, or bulk-loaded); the last id seen, None when none was left.
    Rows a fold holds are skipped: the fold writes their rendering itself."""
    rows = conn.execute(_STALE_RENDERINGS, (after, RENDERING, batch)).fetchall()
    if not rows:
        return None
    shown = [rendered_fields(row) for row in rows]
    conn.execute(
        _WRITE_RENDERINGS,
        (
            [row[0] for row in rows],
            [s.json if s else None for s in shown],
            [s.xml if s else None for s in shown],
            [RENDERING if s else None for s in shown],
        ),
    )
    return str(rows[-1][0])


def render_stale(conn: psycopg.Connection[Any], *, batch: int = 2000) -> None:
    """`render_stale_batch` over the whole view, a transaction per batch (`conn` not in autocommit)."""
    after: str | None = ""
    while after is not None:
        after = render_stale_batch(conn, after=after, batch=batch)
        conn.commit()


def request_event_handler(*, resolution: int) -> BatchHandler:
    """The batch handler of `requests.events`, making submitted places public at H3 `resolution`."""

    async def handle(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await when_request_events_update_view(PostgresRequestViewRows(conn), events, resolution=resolution)

    return handle


async def apply_config_events(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
    """Batch handler of `jurisdiction.config`: services, jurisdictions and partner keys."""
    await when_config_events_update_catalogue(PostgresCatalogueRows(conn), events)


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
