"""The agent read model's writes in PostgreSQL: load a request for update, save its folded state, append history."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import psycopg
from civicloop_events import REGISTRY
from civicloop_events.payloads import AreaRef
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from civicloop_projections.adapters.catalogue_lock import lock_catalogue_shared
from civicloop_projections.domain.agent_request import (
    AgentRequest,
    Delivery,
    DeliveryState,
    DuplicateCandidate,
    ExternalReference,
    Placement,
    Unplaced,
)
from civicloop_projections.domain.history import HistoryEntry
from civicloop_projections.service_layer.ports import AgentViewStore

_STATE_COLUMNS = """request_number, jurisdiction_id, service_code, description, status, preferred_channel, source,
    submitted_at, updated_at, event_count, last_event_id, external_status_code, address_string, address_id,
    ST_Y(submitted_location::geometry) as lat, ST_X(submitted_location::geometry) as long, attributes, media_urls,
    resident_id, closed_at, body_id, team, priority, analysis_codes, external_references, delivery_state,
    delivery_attempts, delivery_last_error, delivery_retry_at, imported_from, placement, geo_service_areas,
    inside_jurisdiction, unplaced, duplicate_candidates, merged_into, merged_at, merge_note"""


class PostgresAgentViewStore(AgentViewStore):
    """Bound to the consumer runner's connection, inside its transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], *, consumer: str) -> None:
        self.conn = conn
        self.consumer = consumer

    async def history_summaries(
        self, request_numbers: Collection[str], event_type: str
    ) -> dict[str, list[dict[str, Any]]]:
        return await history_summaries(self.conn, request_numbers, event_type)

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, AgentRequest]:
        # The catalogue lock before the row locks, and held to the commit: see `catalogue_lock`. One round trip.
        async with self.conn.pipeline():
            await lock_catalogue_shared(self.conn)
            return await load_for_update(self.conn, request_numbers)

    async def save(self, states: Sequence[AgentRequest]) -> None:
        await lock_catalogue_shared(self.conn)  # a no-op when load_for_update took it already
        await save(self.conn, states)

    async def append_history(self, entries: Sequence[HistoryEntry]) -> None:
        await append_history(self.conn, entries, consumer=self.consumer)


async def load_for_update(
    conn: psycopg.AsyncConnection[Any], request_numbers: Collection[str]
) -> dict[str, AgentRequest]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"""select {_STATE_COLUMNS} from projections.agent_requests where request_number = any(%s)
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
    return AgentRequest(**row)


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


async def save(conn: psycopg.AsyncConnection[Any], states: Sequence[AgentRequest]) -> None:
    """Upsert the states, in one round trip (`executemany` pipelines its statements); the service name and the
    covering area are read from the catalogue view as it is now."""
    async with conn.cursor() as cur:
        await cur.executemany(_UPSERT, [_upsert_params(state) for state in states])


_UPSERT = """insert into projections.agent_requests as r (
             request_number, jurisdiction_id, service_code, service_name, description, status, external_status_code,
             address_string, address_id, location, service_area_id, attributes, media_urls, preferred_channel, source,
             resident_id, submitted_at, updated_at, closed_at, event_count, last_event_id, body_id, team, priority,
             analysis_codes, external_references, delivery_state, delivery_attempts, delivery_last_error,
             delivery_retry_at, imported_from, submitted_location, placement, geo_service_areas, geo_area_ids,
             inside_jurisdiction, unplaced, duplicate_candidates, merged_into, merged_at, merge_note)
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
                  n.merged_into, n.merged_at, n.merge_note
             from (select %(request_number)s::text as request_number, %(jurisdiction_id)s::text as jurisdiction_id,
                          %(service_code)s::text as service_code, %(description)s::text as description,
                          %(status)s::text as status, %(external_status_code)s::text as external_status_code,
                          %(address_string)s::text as address_string, %(address_id)s::text as address_id,
                          -- where the request is: the point geo placed it at, else the submitted one
                          case when %(placed_lat)s::float8 is not null
                               then ST_SetSRID(ST_MakePoint(%(placed_long)s::float8, %(placed_lat)s::float8),
                                               4326)::geography
                               when %(lat)s::float8 is not null
                               then ST_SetSRID(ST_MakePoint(%(long)s::float8, %(lat)s::float8), 4326)::geography
                          end as location,
                          case when %(lat)s::float8 is null then null
                               else ST_SetSRID(ST_MakePoint(%(long)s::float8, %(lat)s::float8), 4326)::geography
                          end as submitted_location,
                          %(attributes)s::jsonb as attributes, %(media_urls)s::text[] as media_urls,
                          %(preferred_channel)s::text as preferred_channel, %(source)s::text as source,
                          %(resident_id)s::uuid as resident_id, %(submitted_at)s::timestamptz as submitted_at,
                          %(updated_at)s::timestamptz as updated_at, %(closed_at)s::timestamptz as closed_at,
                          %(event_count)s::integer as event_count, %(last_event_id)s::uuid as last_event_id,
                          %(body_id)s::text as body_id, %(team)s::text as team, %(priority)s::text as priority,
                          %(analysis_codes)s::text[] as analysis_codes,
                          %(external_references)s::jsonb as external_references,
                          %(delivery_state)s::text as delivery_state,
                          %(delivery_attempts)s::integer as delivery_attempts,
                          %(delivery_last_error)s::text as delivery_last_error,
                          %(delivery_retry_at)s::timestamptz as delivery_retry_at,
                          %(imported_from)s::jsonb as imported_from, %(placement)s::jsonb as placement,
                          %(geo_service_areas)s::jsonb as geo_service_areas, %(geo_area_ids)s::text[] as geo_area_ids,
                          %(inside_jurisdiction)s::boolean as inside_jurisdiction, %(unplaced)s::jsonb as unplaced,
                          %(duplicate_candidates)s::jsonb as duplicate_candidates,
                          %(merged_into)s::text as merged_into, %(merged_at)s::timestamptz as merged_at,
                          %(merge_note)s::text as merge_note) n
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
             merged_at = excluded.merged_at, merge_note = excluded.merge_note"""


def _upsert_params(state: AgentRequest) -> dict[str, Any]:
    delivery = state.delivery
    return {
        "request_number": state.request_number,
        "jurisdiction_id": state.jurisdiction_id,
        "service_code": state.service_code,
        "description": state.description,
        "status": state.status,
        "external_status_code": state.external_status_code,
        "address_string": state.address_string,
        "address_id": state.address_id,
        "lat": state.lat,
        "long": state.long,
        "attributes": Jsonb(state.attributes),
        "media_urls": list(state.media_urls),
        "preferred_channel": state.preferred_channel,
        "source": state.source,
        "resident_id": state.resident_id,
        "submitted_at": state.submitted_at,
        "updated_at": state.updated_at,
        "closed_at": state.closed_at,
        "event_count": state.event_count,
        "last_event_id": state.last_event_id,
        "body_id": state.body_id,
        "team": state.team,
        "priority": state.priority,
        "analysis_codes": list(state.analysis_codes),
        "external_references": Jsonb([_reference(r) for r in state.external_references]),
        "delivery_state": delivery.state.value if delivery else None,
        "delivery_attempts": delivery.attempts if delivery else 0,
        "delivery_last_error": delivery.last_error if delivery else None,
        "delivery_retry_at": delivery.retry_at if delivery else None,
        "imported_from": Jsonb(_reference(state.imported_from)) if state.imported_from else None,
        "placed_lat": state.placement.lat if state.placement else None,
        "placed_long": state.placement.long if state.placement else None,
        "placement": Jsonb(_json(state.placement)) if state.placement else None,
        "geo_service_areas": (
            None
            if state.service_areas is None
            else Jsonb([a.model_dump(mode="json") for a in state.service_areas])
        ),
        "geo_area_ids": None if state.geo_area_ids is None else list(state.geo_area_ids),
        "inside_jurisdiction": state.inside_jurisdiction,
        "unplaced": Jsonb(_json(state.unplaced)) if state.unplaced else None,
        "duplicate_candidates": Jsonb([_json(c) for c in state.duplicate_candidates]),
        "merged_into": state.merged_into,
        "merged_at": state.merged_at,
        "merge_note": state.merge_note,
    }


async def append_history(
    conn: psycopg.AsyncConnection[Any], entries: Sequence[HistoryEntry], *, consumer: str
) -> None:
    """The history rows, in one statement, placed on the log by the inbox rows the consumer runner wrote in this
    same transaction."""
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
        """insert into projections.agent_request_history (
             event_id, request_number, jurisdiction_id, partition, kafka_offset, type, schema_version, occurred_at,
             recorded_at, actor_kind, actor_id, source, causation_id, correlation_id, summary)
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
        raise LookupError(
            f"{len(entries) - cur.rowcount} of {len(entries)} events have no inbox row of consumer {consumer!r}"
        )
