"""Reads of the agent read model and the catalogue view, shaped for the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from civicloop_events import REGISTRY
from civicloop_events.payloads import CommentAdded, RequestStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from civicloop_projections.adapters import sla_store
from civicloop_projections.domain.queries import AgentRequestFilter, Cursor

COMMENT_TYPES = frozenset(REGISTRY.names_of(CommentAdded.event_type))

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
    duplicate_suspected, merged_into, merged_at, merge_note, agency_responsible, location_flag, assignee,
    assigned_at, assigned_by, status_reason, referred_to, status_note, status_changed_at, status_changed_by,
    reopened_at, reopen_count, public_comments, internal_comments, last_comment_at, visits, previous_service_code,
    last_activity_at,
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


def _with_sla(condition: str) -> str:
    """The request's SLA row meets `condition` (the SLA store's, over alias `sla`); a request without one does not.
    A subquery rather than a join keeps the list's own columns unqualified."""
    return (
        "exists (select 1 from projections.request_sla sla"
        f" where sla.request_number = r.request_number and {condition})"
    )


def filter_sql(f: AgentRequestFilter, cursor: Cursor | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in (
        ("status", f.statuses),
        ("priority", f.priorities),
        ("delivery_state", f.delivery_states),
        ("team", f.teams),
        ("assignee", f.assignees),
    ):
        if len(values) == 1:  # an equality: a (jurisdiction_id, column, page order) index serves it in order
            clauses.append(f"{column} = %s")
            params.append(values[0])
        elif values:
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
    if f.unassigned is not None:
        clauses.append("assignee is null" if f.unassigned else "assignee is not null")
    if f.dormant_before is not None:
        # The partial index of open requests' pages per jurisdiction serves this.
        clauses.append("status <> 'closed' and last_activity_at < %s")
        params.append(f.dormant_before)
    if f.sla_states or f.sla_dormant is not None:
        if f.now is None:
            raise ValueError("an SLA filter reads the SLA at an instant: give `now`")
        if f.sla_states:
            condition, sla_params = sla_store.sla_state_condition(f.sla_states, f.now)
            clauses.append(_with_sla(condition))
            params += sla_params
        if f.sla_dormant is not None:
            condition, sla_params = sla_store.dormant_condition(True, f.now)
            clauses.append(("" if f.sla_dormant else "not ") + _with_sla(condition))
            params += sla_params
    if f.since is not None:
        clauses.append("updated_at >= %s")
        params.append(f.since)
    if cursor is not None:
        clauses.append("(updated_at < %s or (updated_at = %s and request_number > %s))")
        params += [cursor.updated_at, cursor.updated_at, cursor.request_number]
    return (" where " + " and ".join(clauses)) if clauses else "", params


async def with_sla(
    conn: psycopg.AsyncConnection[Any], rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Each request's SLA at `now` (`sla`, null without a row in the SLA store), in one query for all of them."""
    found = await sla_store.sla_of(conn, [row["request_number"] for row in rows], now) if rows else {}
    for row in rows:
        row["sla"] = found.get(row["request_number"])
    return rows


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


async def get_request(
    conn: psycopg.AsyncConnection[Any], request_number: str, *, jurisdiction_id: str
) -> dict[str, Any] | None:
    """The request, when it is of `jurisdiction_id` (another jurisdiction's is as unknown as a missing one)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_REQUEST_COLUMNS}, duplicate_candidates from projections.agent_requests r"
        " where request_number = %s and jurisdiction_id = %s",
        (request_number, jurisdiction_id),
    )
    return await cur.fetchone()


async def find_by_external_id(
    conn: psycopg.AsyncConnection[Any], body_id: str, external_id: str, *, jurisdiction_id: str
) -> dict[str, Any] | None:
    """The request of `jurisdiction_id` a back-end knows by `external_id` (a reference it assigned, or the one it was
    imported by). Should two requests carry the same reference, the first submitted is the one."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_REQUEST_COLUMNS}, duplicate_candidates from projections.agent_requests r"
        " where external_references @> %s and jurisdiction_id = %s order by submitted_at, request_number limit 1",
        (Jsonb([{"body_id": body_id, "external_id": external_id}]), jurisdiction_id),
    )
    return await cur.fetchone()


# The queues a sidebar counts, each a column of open work (not closed, not merged into another request).
QUEUE_COLUMNS = ("team", "assignee", "priority", "service_code", "service_area_id")


async def queue_counts(
    conn: psycopg.AsyncConnection[Any],
    *,
    jurisdiction_id: str,
    staff_id: str,
    dormant_before: datetime,
    now: datetime,
) -> dict[str, Any]:
    """Every queue's count for one jurisdiction in two statements: requests per status (merged duplicates left out),
    then open work per team, assignee, priority, category and service area, with the caller's own ("mine"), the
    unassigned and the dormant among it; then the SLA store's counts per SLA state at `now`."""
    cur = await conn.execute(
        """select status, count(*) from projections.agent_requests
            where jurisdiction_id = %s and merged_into is null group by status order by status""",
        (jurisdiction_id,),
    )
    by_status = {s.value: 0 for s in RequestStatus} | dict(await cur.fetchall())
    groupings = ", ".join(f"grouping({c}) = 0 as by_{c}" for c in QUEUE_COLUMNS)
    cur = await conn.execute(
        f"""select {groupings}, {", ".join(QUEUE_COLUMNS)}, max(service_name) as service_name, count(*),
                   count(*) filter (where assignee = %s) as mine,
                   count(*) filter (where assignee is null) as unassigned,
                   count(*) filter (where last_activity_at < %s) as dormant
              from projections.agent_requests
             where jurisdiction_id = %s and merged_into is null and status <> 'closed'
             group by grouping sets ({", ".join(f"({c})" for c in QUEUE_COLUMNS)}, ())""",
        (staff_id, dormant_before, jurisdiction_id),
    )
    queues: dict[str, list[dict[str, Any]]] = {c: [] for c in QUEUE_COLUMNS}
    totals = {"open": 0, "mine": 0, "unassigned": 0, "dormant": 0}
    for row in await cur.fetchall():
        flags, values = row[: len(QUEUE_COLUMNS)], row[len(QUEUE_COLUMNS) : 2 * len(QUEUE_COLUMNS)]
        service_name, count, mine, unassigned, dormant = row[2 * len(QUEUE_COLUMNS) :]
        if not any(flags):  # the grand total
            totals = {"open": count, "mine": mine, "unassigned": unassigned, "dormant": dormant}
            continue
        column = QUEUE_COLUMNS[flags.index(True)]
        entry = {"value": values[flags.index(True)], "count": count}
        if column == "service_code":
            entry["service_name"] = service_name
        queues[column].append(entry)
    for entries in queues.values():  # most first; then by value, none last: the same order on every call
        entries.sort(key=lambda e: (-e["count"], e["value"] is None, e["value"] or ""))
    sla = await sla_store.sla_counts(conn, jurisdiction_id, now)
    return {
        "by_status": by_status,
        **totals,
        **{f"by_{c}": queues[c] for c in QUEUE_COLUMNS},
        "by_sla_state": {state: count for state, count in sla.items() if state != "dormant"},
        "sla_dormant": sla["dormant"],
    }


async def history_of(
    conn: psycopg.AsyncConnection[Any], request_number: str, *, jurisdiction_id: str
) -> list[dict[str, Any]]:
    """Every event of the request, in log order (one request lives on one partition)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        """select event_id, partition, kafka_offset as offset, type, schema_version, occurred_at, recorded_at,
                  json_build_object('kind', actor_kind, 'id', actor_id) as actor, source, causation_id,
                  correlation_id, summary
             from projections.agent_request_history
            where request_number = %s and jurisdiction_id = %s
            order by partition, kafka_offset""",
        (request_number, jurisdiction_id),
    )
    return await cur.fetchall()


def comments_in(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comments of a history, public and internal alike (staff read both), each marked with its visibility."""
    return [
        {
            "event_id": e["event_id"],
            "occurred_at": e["occurred_at"],
            "actor": e["actor"],
            "visibility": e["summary"].get("visibility", "internal"),
            "text": e["summary"]["text"],
            "media_urls": e["summary"].get("media_urls", []),
        }
        for e in history
        if e["type"] in COMMENT_TYPES
    ]


async def list_service_areas(
    conn: psycopg.AsyncConnection[Any], *, jurisdiction_id: str, kind: str | None, with_geometry: bool
) -> list[dict[str, Any]]:
    """The current version of every area; GeoJSON geometry only when asked (boundaries are large)."""
    geometry = ", ST_AsGeoJSON(geometry, 7)::json as geometry" if with_geometry else ""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"""select area_id as id, jurisdiction_id, name, kind, version, source, defined_at{geometry}
              from projections.service_areas
             where is_current and jurisdiction_id = %s and (%s::text is null or kind = %s)
             order by jurisdiction_id, area_id""",
        (jurisdiction_id, kind, kind),
    )
    return await cur.fetchall()
