"""Reads of the agent read model and the catalogue view, shaped for the HTTP API."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from civicloop_projections.domain.queries import AgentRequestFilter, Cursor

_REQUEST_COLUMNS = """request_number, jurisdiction_id, service_code, service_name, description, status,
    external_status_code, address_string, address_id,
    case when location is null then null
         else json_build_object('lat', ST_Y(location::geometry), 'long', ST_X(location::geometry)) end as location,
    service_area_id, attributes, media_urls, preferred_channel, source, resident_id, submitted_at, updated_at,
    closed_at, event_count, last_event_id, body_id, team, priority, analysis_codes, external_references,
    case when delivery_state is null then null
         else json_build_object('state', delivery_state, 'attempts', delivery_attempts,
                                'last_error', delivery_last_error, 'retry_at', delivery_retry_at) end as delivery,
    imported_from, placement, geo_service_areas as service_areas, inside_jurisdiction, needs_placing, unplaced,
    duplicate_suspected, merged_into, merged_at, merge_note, agency_responsible, location_flag,
    array(select d.request_number from projections.agent_requests d where d.merged_into = r.request_number
           order by d.merged_at, d.request_number) as merged_duplicates"""

# Each flag filter: (the SQL when the flag is true, when it is false). Outside means geo said so; not yet placed
# requests are not outside.
_FLAGS = {
    "merged": ("merged_into is not null", "merged_into is null"),
    "duplicate_suspected": ("duplicate_suspected", "not duplicate_suspected"),
    "outside_jurisdiction": ("inside_jurisdiction = false", "inside_jurisdiction is distinct from false"),
    "unresolved": ("needs_placing", "not needs_placing"),
}


def filter_sql(f: AgentRequestFilter, cursor: Cursor | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in (
        ("status", f.statuses),
        ("priority", f.priorities),
        ("delivery_state", f.delivery_states),
    ):
        if values:
            clauses.append(f"{column} = any(%s)")
            params.append(list(values))
    if f.service_area_id is not None:
        # A request geo placed in several areas (a district and a neighbourhood) is in each of them.
        clauses.append("(service_area_id = %s or geo_area_ids @> array[%s]::text[])")
        params += [f.service_area_id, f.service_area_id]
    for flag, (when_true, when_false) in _FLAGS.items():
        value = getattr(f, flag)
        if value is not None:
            clauses.append(when_true if value else when_false)
    for column, value in (
        ("service_code", f.service_code),
        ("jurisdiction_id", f.jurisdiction_id),
        ("body_id", f.body_id),
    ):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if f.bbox is not None:
        # Same expression as the planar GiST index, so the index serves the box.
        clauses.append("ST_Intersects(location::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))")
        params += [f.bbox.min_long, f.bbox.min_lat, f.bbox.max_long, f.bbox.max_lat]
    if f.since is not None:
        clauses.append("updated_at >= %s")
        params.append(f.since)
    if cursor is not None:
        clauses.append("(updated_at < %s or (updated_at = %s and request_number > %s))")
        params += [cursor.updated_at, cursor.updated_at, cursor.request_number]
    return (" where " + " and ".join(clauses)) if clauses else "", params


async def list_requests(
    conn: psycopg.AsyncConnection[Any], f: AgentRequestFilter, *, limit: int, cursor: Cursor | None
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page in (updated_at desc, request_number) order, and the cursor of the next page if there is one."""
    where, params = filter_sql(f, cursor)
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_REQUEST_COLUMNS} from projections.agent_requests r{where}"
        " order by updated_at desc, request_number limit %s",
        [*params, limit + 1],
    )
    rows = await cur.fetchall()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(last["updated_at"], last["request_number"])


async def get_request(conn: psycopg.AsyncConnection[Any], request_number: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_REQUEST_COLUMNS}, duplicate_candidates from projections.agent_requests r"
        " where request_number = %s",
        (request_number,),
    )
    return await cur.fetchone()


async def find_by_external_id(
    conn: psycopg.AsyncConnection[Any], body_id: str, external_id: str
) -> dict[str, Any] | None:
    """The request a back-end knows by `external_id` (a reference it assigned, or the one it was imported by). Should
    two requests carry the same reference, the first submitted is the one."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_REQUEST_COLUMNS}, duplicate_candidates from projections.agent_requests r"
        " where external_references @> %s order by submitted_at, request_number limit 1",
        (Jsonb([{"body_id": body_id, "external_id": external_id}]),),
    )
    return await cur.fetchone()


async def history_of(conn: psycopg.AsyncConnection[Any], request_number: str) -> list[dict[str, Any]]:
    """Every event of the request, in log order (one request lives on one partition)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        """select event_id, partition, kafka_offset as offset, type, schema_version, occurred_at, recorded_at,
                  json_build_object('kind', actor_kind, 'id', actor_id) as actor, source, causation_id,
                  correlation_id, summary
             from projections.agent_request_history
            where request_number = %s
            order by partition, kafka_offset""",
        (request_number,),
    )
    return await cur.fetchall()


async def list_service_areas(
    conn: psycopg.AsyncConnection[Any], *, jurisdiction_id: str | None, kind: str | None, with_geometry: bool
) -> list[dict[str, Any]]:
    """The current version of every area; GeoJSON geometry only when asked (boundaries are large)."""
    geometry = ", ST_AsGeoJSON(geometry, 7)::json as geometry" if with_geometry else ""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"""select area_id as id, jurisdiction_id, name, kind, version, source, defined_at{geometry}
              from projections.service_areas
             where is_current and (%s::text is null or jurisdiction_id = %s) and (%s::text is null or kind = %s)
             order by jurisdiction_id, area_id""",
        (jurisdiction_id, jurisdiction_id, kind, kind),
    )
    return await cur.fetchall()
