"""The agent read model's writes in PostgreSQL: load a request for update, save its folded state, append history."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import psycopg
from civicloop_events import REGISTRY
from civicloop_events.payloads import AreaRef
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from civicloop_projections.adapters.catalogue_lock import CATALOGUE_LOCK_SHARED, lock_catalogue_shared
from civicloop_projections.domain.agent_request import (
    AgentRequest,
    Delivery,
    DeliveryState,
    DuplicateCandidate,
    ExternalReference,
    Placement,
    Unplaced,
    Visit,
    VisitState,
)
from civicloop_projections.domain.history import HistoryEntry
from civicloop_projections.service_layer.ports import AgentViewStore

_STATE_COLUMNS = """request_number, jurisdiction_id, service_code, description, status, preferred_channel, source,
    submitted_at, updated_at, event_count, last_event_id, external_status_code, address_string, address_id,
    ST_Y(submitted_location::geometry) as lat, ST_X(submitted_location::geometry) as long, attributes, media_urls,
    resident_id, closed_at, body_id, team, priority, analysis_codes, external_references, delivery_state,
    delivery_attempts, delivery_last_error, delivery_retry_at, imported_from, placement, geo_service_areas,
    inside_jurisdiction, unplaced, duplicate_candidates, merged_into, merged_at, merge_note, agency_responsible,
    location_flag, assignee, assigned_at, assigned_by, status_reason, referred_to, status_note, status_changed_at,
    status_changed_by, reopened_at, reopen_count, public_comments, internal_comments, last_comment_at, visits,
    previous_service_code, last_activity_at, priority_set_at"""


class PostgresAgentViewStore(AgentViewStore):
    """Bound to the consumer runner's connection, inside its transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], *, consumer: str) -> None:
        self.conn = conn
        self.consumer = consumer
        self._catalogue_locked = False  # the shared catalogue lock, held to the commit once taken

    async def history_summaries(
        self, request_numbers: Collection[str], event_type: str
    ) -> dict[str, list[dict[str, Any]]]:
        return await history_summaries(self.conn, request_numbers, event_type)

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, AgentRequest]:
        # The catalogue lock before the row locks, and held to the commit: see `catalogue_lock`.
        states = await load_for_update(self.conn, request_numbers)
        self._catalogue_locked = True
        return states

    async def save(self, states: Sequence[AgentRequest]) -> None:
        if not self._catalogue_locked:
            await lock_catalogue_shared(self.conn)
            self._catalogue_locked = True
        await save(self.conn, states)

    async def append_history(self, entries: Sequence[HistoryEntry]) -> None:
        await append_history(self.conn, entries, consumer=self.consumer)


async def load_for_update(
    conn: psycopg.AsyncConnection[Any], request_numbers: Collection[str]
) -> dict[str, AgentRequest]:
    """The requests' states, row-locked, after the shared catalogue lock, in one round trip.

    The lock is an uncorrelated condition, so PostgreSQL evaluates it once before the scan (a one-time filter),
    hence before any row is locked, and whether or not a row matches."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"""select {_STATE_COLUMNS} from projections.agent_requests
             where (select {CATALOGUE_LOCK_SHARED} is not null) and request_number = any(%s)
             order by request_number for update""",
        (list(request_numbers),),
    )
    return {row["request_number"]: _state(row) for row in await cur.fetchall()}


def _state(row: dict[str, Any]) -> AgentRequest:
    row["media_urls"] = tuple(row["media_urls"])
    row["analysis_codes"] = tuple(row["analysis_codes"])
    row["external_references"] = tuple(ExternalReference(**r) for r in row["external_references"])
    row["imported_from"] = ExternalReference(**row["imported_from"]) if row["imported_from"] else None
    delivery = {k: row.pop(f"delivery_{k}") for k in ("state", "attempts", "last_error", "retry_at")}
    row["delivery"] = (
        None
        if delivery["state"] is None
        else Delivery(**{**delivery, "state": DeliveryState(delivery["state"])})
    )
    placement = row.pop("placement")
    row["placement"] = (
        None
        if placement is None
        else Placement(**{**placement, "resolved_at": datetime.fromisoformat(placement["resolved_at"])})
    )
    areas = row.pop("geo_service_areas")
    row["service_areas"] = None if areas is None else tuple(AreaRef(**a) for a in areas)
    unplaced = row["unplaced"]
    row["unplaced"] = (
        None if unplaced is None else Unplaced(**{**unplaced, "at": datetime.fromisoformat(unplaced["at"])})
    )
    row["duplicate_candidates"] = tuple(
        DuplicateCandidate(**{**c, "submitted_at": datetime.fromisoformat(c["submitted_at"])})
        for c in row["duplicate_candidates"]
    )
    row["visits"] = tuple(_visit(v) for v in row["visits"])
    return AgentRequest(**row)


def _visit(stored: dict[str, Any]) -> Visit:
    changed_at = stored["changed_at"]
    return Visit(
        **{
            **stored,
            "starts_at": datetime.fromisoformat(stored["starts_at"]),
            "scheduled_at": datetime.fromisoformat(stored["scheduled_at"]),
            "changed_at": None if changed_at is None else datetime.fromisoformat(changed_at),
            "state": VisitState(stored["state"]),
        }
    )


async def history_summaries(
    conn: psycopg.AsyncConnection[Any], request_numbers: Collection[str], event_type: str
) -> dict[str, list[dict[str, Any]]]:
    # Rows written before a type was renamed carry its earlier name: match every name it had.
    cur = await conn.execute(
        """select request_number, summary from projections.agent_request_history
            where request_number = any(%s) and type = any(%s)
            order by request_number, partition, kafka_offset""",
        (list(request_numbers), REGISTRY.names_of(event_type)),
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for number, summary in await cur.fetchall():
        found.setdefault(number, []).append(summary)
    return found


def _reference(reference: ExternalReference) -> dict[str, str]:
    return {"body_id": reference.body_id, "external_id": reference.external_id}


def _json(value: Any) -> dict[str, Any]:
    """A value object as JSON, times as ISO 8601 (they come back through `datetime.fromisoformat`)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(value).items()}


def _json_names(name: str) -> str:
    """The name of an unnested column: the text arrays that travel as JSON are renamed, then turned back."""
    return {
        "media_urls": "media_json",
        "analysis_codes": "analysis_json",
        "geo_area_ids": "geo_area_ids_json",
    }.get(name, name)


# Staff's work (contract 1.6): columns written as folded, with no catalogue or geometry in between.
_WORK_FIELDS = (
    ("assignee", "text"),
    ("assigned_at", "timestamptz"),
    ("assigned_by", "text"),
    ("status_reason", "text"),
    ("referred_to", "text"),
    ("status_note", "text"),
    ("status_changed_at", "timestamptz"),
    ("status_changed_by", "text"),
    ("reopened_at", "timestamptz"),
    ("reopen_count", "integer"),
    ("public_comments", "integer"),
    ("internal_comments", "integer"),
    ("last_comment_at", "timestamptz"),
    ("previous_service_code", "text"),
    ("last_activity_at", "timestamptz"),
    ("priority_set_at", "timestamptz"),
)


def _visit_json(visit: Visit) -> dict[str, Any]:
    return {**_json(visit), "state": visit.state.value}


# One column of the upsert: its name, its element type, and how a state gives its value.
_COLUMNS: tuple[tuple[str, str, Callable[[AgentRequest], Any]], ...] = (
    ("request_number", "text", lambda s: s.request_number),
    ("jurisdiction_id", "text", lambda s: s.jurisdiction_id),
    ("service_code", "text", lambda s: s.service_code),
    ("description", "text", lambda s: s.description),
    ("status", "text", lambda s: s.status),
    ("external_status_code", "text", lambda s: s.external_status_code),
    ("address_string", "text", lambda s: s.address_string),
    ("address_id", "text", lambda s: s.address_id),
    ("lat", "float8", lambda s: s.lat),
    ("long", "float8", lambda s: s.long),
    ("placed_lat", "float8", lambda s: s.placement.lat if s.placement else None),
    ("placed_long", "float8", lambda s: s.placement.long if s.placement else None),
    ("attributes", "jsonb", lambda s: Jsonb(s.attributes)),
    # Arrays of arrays cannot be unnested into rows: text arrays travel as JSON arrays.
    ("media_urls", "jsonb", lambda s: Jsonb(list(s.media_urls))),
    ("preferred_channel", "text", lambda s: s.preferred_channel),
    ("source", "text", lambda s: s.source),
    ("resident_id", "uuid", lambda s: s.resident_id),
    ("submitted_at", "timestamptz", lambda s: s.submitted_at),
    ("updated_at", "timestamptz", lambda s: s.updated_at),
    ("closed_at", "timestamptz", lambda s: s.closed_at),
    ("event_count", "integer", lambda s: s.event_count),
    ("last_event_id", "uuid", lambda s: s.last_event_id),
    ("body_id", "text", lambda s: s.body_id),
    ("team", "text", lambda s: s.team),
    ("priority", "text", lambda s: s.priority),
    ("analysis_codes", "jsonb", lambda s: Jsonb(list(s.analysis_codes))),
    ("external_references", "jsonb", lambda s: Jsonb([_reference(r) for r in s.external_references])),
    ("delivery_state", "text", lambda s: s.delivery.state.value if s.delivery else None),
    ("delivery_attempts", "integer", lambda s: s.delivery.attempts if s.delivery else 0),
    ("delivery_last_error", "text", lambda s: s.delivery.last_error if s.delivery else None),
    ("delivery_retry_at", "timestamptz", lambda s: s.delivery.retry_at if s.delivery else None),
    ("imported_from", "jsonb", lambda s: Jsonb(_reference(s.imported_from)) if s.imported_from else None),
    ("placement", "jsonb", lambda s: Jsonb(_json(s.placement)) if s.placement else None),
    (
        "geo_service_areas",
        "jsonb",
        lambda s: (
            None if s.service_areas is None else Jsonb([a.model_dump(mode="json") for a in s.service_areas])
        ),
    ),
    ("geo_area_ids", "jsonb", lambda s: None if s.geo_area_ids is None else Jsonb(list(s.geo_area_ids))),
    ("inside_jurisdiction", "boolean", lambda s: s.inside_jurisdiction),
    ("unplaced", "jsonb", lambda s: Jsonb(_json(s.unplaced)) if s.unplaced else None),
    ("duplicate_candidates", "jsonb", lambda s: Jsonb([_json(c) for c in s.duplicate_candidates])),
    ("merged_into", "text", lambda s: s.merged_into),
    ("merged_at", "timestamptz", lambda s: s.merged_at),
    ("merge_note", "text", lambda s: s.merge_note),
    ("agency_responsible", "text", lambda s: s.agency_responsible),
    ("location_flag", "text", lambda s: s.location_flag),
    *((name, kind, lambda s, name=name: getattr(s, name)) for name, kind in _WORK_FIELDS),
    ("visits", "jsonb", lambda s: Jsonb([_visit_json(v) for v in s.visits])),
)
_WORK_COLUMNS = (*(name for name, _ in _WORK_FIELDS), "visits")


# The states' rows: several unnested from one array per column, or one from plain parameters (cheaper to send).
_MANY_ROWS = (
    f"unnest({', '.join(f'%s::{kind}[]' for _, kind, _ in _COLUMNS)})"
    f" as u({', '.join(_json_names(name) for name, _, _ in _COLUMNS)})"
)
_ONE_ROW = f"(select {', '.join(f'%s::{kind} as {_json_names(name)}' for name, kind, _ in _COLUMNS)}) u"

_UPSERT = """insert into projections.agent_requests as r (
             request_number, jurisdiction_id, service_code, service_name, description, status, external_status_code,
             address_string, address_id, location, service_area_id, attributes, media_urls, preferred_channel, source,
             resident_id, submitted_at, updated_at, closed_at, event_count, last_event_id, body_id, team, priority,
             analysis_codes, external_references, delivery_state, delivery_attempts, delivery_last_error,
             delivery_retry_at, imported_from, submitted_location, placement, geo_service_areas, geo_area_ids,
             inside_jurisdiction, unplaced, duplicate_candidates, merged_into, merged_at, merge_note,
             agency_responsible, location_flag, {work_columns})
           select n.request_number, n.jurisdiction_id, n.service_code,
                  (select s.service_name from projections.services s
                    where s.jurisdiction_id = n.jurisdiction_id and s.service_code = n.service_code),
                  n.description, n.status, n.external_status_code, n.address_string, n.address_id, n.location,
                  projections.request_area(n.jurisdiction_id, n.location, n.geo_area_ids),
                  n.attributes, n.media_urls, n.preferred_channel, n.source, n.resident_id, n.submitted_at,
                  n.updated_at, n.closed_at, n.event_count, n.last_event_id, n.body_id, n.team, n.priority,
                  n.analysis_codes, n.external_references, n.delivery_state, n.delivery_attempts,
                  n.delivery_last_error, n.delivery_retry_at, n.imported_from, n.submitted_location, n.placement,
                  n.geo_service_areas, n.geo_area_ids, n.inside_jurisdiction, n.unplaced, n.duplicate_candidates,
                  n.merged_into, n.merged_at, n.merge_note, n.agency_responsible, n.location_flag, {work_values}
             from (select u.*,
                          -- where the request is: the point geo placed it at, else the submitted one
                          case when u.placed_lat is not null
                               then ST_SetSRID(ST_MakePoint(u.placed_long, u.placed_lat), 4326)::geography
                               when u.lat is not null
                               then ST_SetSRID(ST_MakePoint(u.long, u.lat), 4326)::geography
                          end as location,
                          case when u.lat is not null
                               then ST_SetSRID(ST_MakePoint(u.long, u.lat), 4326)::geography
                          end as submitted_location,
                          array(select jsonb_array_elements_text(u.media_json)) as media_urls,
                          array(select jsonb_array_elements_text(u.analysis_json)) as analysis_codes,
                          case when u.geo_area_ids_json is not null
                               then array(select jsonb_array_elements_text(u.geo_area_ids_json))
                          end as geo_area_ids
                     from {rows}) n
           on conflict (request_number) do update set
             jurisdiction_id = excluded.jurisdiction_id, service_code = excluded.service_code,
             service_name = excluded.service_name, description = excluded.description, status = excluded.status,
             external_status_code = excluded.external_status_code, address_string = excluded.address_string,
             address_id = excluded.address_id, location = excluded.location,
             service_area_id = excluded.service_area_id, attributes = excluded.attributes,
             media_urls = excluded.media_urls, preferred_channel = excluded.preferred_channel,
             source = excluded.source, resident_id = excluded.resident_id, submitted_at = excluded.submitted_at,
             updated_at = excluded.updated_at, closed_at = excluded.closed_at, event_count = excluded.event_count,
             last_event_id = excluded.last_event_id, body_id = excluded.body_id, team = excluded.team,
             priority = excluded.priority, analysis_codes = excluded.analysis_codes,
             external_references = excluded.external_references, delivery_state = excluded.delivery_state,
             delivery_attempts = excluded.delivery_attempts, delivery_last_error = excluded.delivery_last_error,
             delivery_retry_at = excluded.delivery_retry_at, imported_from = excluded.imported_from,
             submitted_location = excluded.submitted_location, placement = excluded.placement,
             geo_service_areas = excluded.geo_service_areas, geo_area_ids = excluded.geo_area_ids,
             inside_jurisdiction = excluded.inside_jurisdiction, unplaced = excluded.unplaced,
             duplicate_candidates = excluded.duplicate_candidates, merged_into = excluded.merged_into,
             merged_at = excluded.merged_at, merge_note = excluded.merge_note,
             agency_responsible = excluded.agency_responsible, location_flag = excluded.location_flag,
             {work_updates}"""

_UPSERT = (
    _UPSERT.replace("{work_columns}", ", ".join(_WORK_COLUMNS))
    .replace("{work_values}", ", ".join(f"n.{c}" for c in _WORK_COLUMNS))
    .replace("{work_updates}", ", ".join(f"{c} = excluded.{c}" for c in _WORK_COLUMNS))
)
_UPSERT_ONE = _UPSERT.replace("{rows}", _ONE_ROW)
_UPSERT_MANY = _UPSERT.replace("{rows}", _MANY_ROWS)


async def save(conn: psycopg.AsyncConnection[Any], states: Sequence[AgentRequest]) -> None:
    """Upsert the states in one statement (one row per request); the service name and the covering area are read
    from the catalogue view as it is now."""
    if len(states) == 1:
        await conn.execute(_UPSERT_ONE, [value(states[0]) for _, _, value in _COLUMNS])
    elif states:
        await conn.execute(_UPSERT_MANY, [[value(state) for state in states] for _, _, value in _COLUMNS])


_HISTORY_COLUMNS = (
    "event_id, request_number, jurisdiction_id, partition, kafka_offset, type, schema_version, occurred_at,"
    " recorded_at, actor_kind, actor_id, source, causation_id, correlation_id, summary"
)


# Below this many rows, one INSERT (one round trip) is cheaper than the query for their places plus a COPY; above it,
# COPY's rows formatted in C beat array parameters dumped value by value in Python (measured on a rebuild).
_COPY_FROM_ROWS = 64


async def append_history(
    conn: psycopg.AsyncConnection[Any], entries: Sequence[HistoryEntry], *, consumer: str
) -> None:
    """The history rows, placed on the log by the inbox rows the consumer runner wrote in this same transaction."""
    if len(entries) < _COPY_FROM_ROWS:
        await _insert_history(conn, entries, consumer=consumer)
    else:
        await _copy_history(conn, entries, consumer=consumer)


def _missing_inbox_rows(entries: Sequence[HistoryEntry], found: int, consumer: str) -> LookupError:
    return LookupError(
        f"{len(entries) - found} of {len(entries)} events have no inbox row of consumer {consumer!r}"
    )


async def _insert_history(
    conn: psycopg.AsyncConnection[Any], entries: Sequence[HistoryEntry], *, consumer: str
) -> None:
    if not entries:
        return
    columns = (
        [e.event_id for e in entries],
        [e.request_number for e in entries],
        [e.jurisdiction_id for e in entries],
        [e.type for e in entries],
        [e.schema_version for e in entries],
        [e.occurred_at for e in entries],
        [e.recorded_at for e in entries],
        [e.actor_kind for e in entries],
        [e.actor_id for e in entries],
        [e.source for e in entries],
        [e.causation_id for e in entries],
        [e.correlation_id for e in entries],
        [Jsonb(e.summary) for e in entries],
    )
    cur = await conn.execute(
        f"""insert into projections.agent_request_history ({_HISTORY_COLUMNS})
           select e.event_id, e.request_number, e.jurisdiction_id, i.partition, i.kafka_offset, e.type,
                  e.schema_version, e.occurred_at, e.recorded_at, e.actor_kind, e.actor_id, e.source, e.causation_id,
                  e.correlation_id, e.summary
             from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::integer[], %s::timestamptz[],
                         %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::uuid[], %s::uuid[], %s::jsonb[])
                    as e(event_id, request_number, jurisdiction_id, type, schema_version, occurred_at, recorded_at,
                         actor_kind, actor_id, source, causation_id, correlation_id, summary)
             join projections.inbox i on i.consumer = %s and i.event_id = e.event_id""",
        (*columns, consumer),
    )
    if cur.rowcount != len(entries):
        raise _missing_inbox_rows(entries, cur.rowcount, consumer)


async def _copy_history(
    conn: psycopg.AsyncConnection[Any], entries: Sequence[HistoryEntry], *, consumer: str
) -> None:
    cur = await conn.execute(
        "select event_id, partition, kafka_offset from projections.inbox where consumer = %s and event_id = any(%s)",
        (consumer, [e.event_id for e in entries]),
    )
    places = {event_id: (partition, offset) for event_id, partition, offset in await cur.fetchall()}
    if len(places) != len(entries):
        raise _missing_inbox_rows(entries, len(places), consumer)
    async with conn.cursor().copy(
        f"copy projections.agent_request_history ({_HISTORY_COLUMNS}) from stdin"
    ) as copy:
        for e in entries:
            partition, offset = places[e.event_id]
            await copy.write_row(
                (
                    e.event_id,
                    e.request_number,
                    e.jurisdiction_id,
                    partition,
                    offset,
                    e.type,
                    e.schema_version,
                    e.occurred_at,
                    e.recorded_at,
                    e.actor_kind,
                    e.actor_id,
                    e.source,
                    e.causation_id,
                    e.correlation_id,
                    Jsonb(e.summary),
                )
            )
