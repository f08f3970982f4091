"""The outbound tables in PostgreSQL: the config fold, routing inputs, the queue."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from civicloop_events import Event, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import BodyDefined, BodyPaused, BodyResumed, RoutingRule, RoutingRulesDefined
from psycopg.types.json import Jsonb

from civicloop_outbound.domain.ports import BodyRecord

Conn = psycopg.AsyncConnection[Any]


async def apply_outbound_config_event(conn: Conn, event: Event[Any]) -> None:
    """Fold one `jurisdiction.config` event into `outbound.bodies`, `outbound.routing_rules`,
    `outbound.outbound_areas` and `outbound.services`."""
    p = event.payload
    j = event.jurisdiction_id
    if isinstance(p, BodyDefined):
        await conn.execute(
            """insert into outbound.bodies (jurisdiction_id, body_id, name, send_method, service_codes, definition,
                                           defined_at, last_event_id)
               values (%s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (jurisdiction_id, body_id) do update set
                 name = excluded.name, send_method = excluded.send_method, service_codes = excluded.service_codes,
                 definition = excluded.definition, defined_at = excluded.defined_at,
                 last_event_id = excluded.last_event_id""",
            (
                j,
                p.body_id,
                p.name,
                p.send_method.value,
                list(p.service_codes),
                p.model_dump_json(),
                event.occurred_at,
                event.event_id,
            ),
        )
    elif isinstance(p, BodyPaused):
        await conn.execute(
            "update outbound.bodies set paused = true, paused_reason = %s, paused_at = %s, last_event_id = %s"
            " where jurisdiction_id = %s and body_id = %s",
            (p.reason, event.occurred_at, event.event_id, j, p.body_id),
        )
    elif isinstance(p, BodyResumed):
        await conn.execute(
            "update outbound.bodies set paused = false, paused_reason = '', paused_at = null, last_event_id = %s"
            " where jurisdiction_id = %s and body_id = %s",
            (event.event_id, j, p.body_id),
        )
    elif isinstance(p, RoutingRulesDefined):
        await conn.execute("delete from outbound.routing_rules where jurisdiction_id = %s", (j,))
        for position, rule in enumerate(p.rules):
            await conn.execute(
                "insert into outbound.routing_rules (jurisdiction_id, position, name, rule, last_event_id)"
                " values (%s, %s, %s, %s, %s)",
                (j, position, rule.name, rule.model_dump_json(), event.event_id),
            )
    elif isinstance(p, ServiceDefined):
        await conn.execute(
            """insert into outbound.services (jurisdiction_id, service_code, service_name, attributes, last_event_id)
               values (%s, %s, %s, %s, %s)
               on conflict (jurisdiction_id, service_code) do update set
                 service_name = excluded.service_name, attributes = excluded.attributes,
                 last_event_id = excluded.last_event_id""",
            (
                j,
                p.service_code,
                p.service_name,
                Jsonb([a.model_dump(mode="json") for a in p.attributes]),
                event.event_id,
            ),
        )
    elif isinstance(p, ServiceAreaDefined):
        await conn.execute(
            """insert into outbound.outbound_areas (jurisdiction_id, area_id, geometry, last_event_id)
               values (%s, %s, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), %s)
               on conflict (jurisdiction_id, area_id) do update set
                 geometry = excluded.geometry, last_event_id = excluded.last_event_id""",
            (j, p.area_id, json.dumps(p.geometry), event.event_id),
        )


async def load_bodies(conn: Conn, jurisdiction_id: str) -> list[BodyRecord]:
    cur = await conn.execute(
        "select definition, paused from outbound.bodies where jurisdiction_id = %s order by defined_at, body_id",
        (jurisdiction_id,),
    )
    return [
        BodyRecord(jurisdiction_id, BodyDefined.model_validate(d), paused)
        for d, paused in await cur.fetchall()
    ]


async def load_body(conn: Conn, jurisdiction_id: str, body_id: str) -> BodyRecord | None:
    cur = await conn.execute(
        "select definition, paused from outbound.bodies where jurisdiction_id = %s and body_id = %s",
        (jurisdiction_id, body_id),
    )
    row = await cur.fetchone()
    return BodyRecord(jurisdiction_id, BodyDefined.model_validate(row[0]), row[1]) if row else None


async def load_rules(conn: Conn, jurisdiction_id: str) -> list[RoutingRule]:
    cur = await conn.execute(
        "select rule from outbound.routing_rules where jurisdiction_id = %s order by position",
        (jurisdiction_id,),
    )
    return [RoutingRule.model_validate(r) for (r,) in await cur.fetchall()]


async def areas_at(
    conn: Conn, jurisdiction_id: str, lat: float | None, long: float | None
) -> frozenset[str] | None:
    """The service areas containing the point; None when unknown (no point, or no areas defined for the city)."""
    if lat is None or long is None:
        return None
    cur = await conn.execute(
        """select coalesce(array_agg(area_id) filter (
                    where ST_Intersects(geometry, ST_SetSRID(ST_MakePoint(%s, %s), 4326))), '{}'), count(*)
             from outbound.outbound_areas where jurisdiction_id = %s""",
        (long, lat, jurisdiction_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise RuntimeError("an aggregate query gave no row")
    ids, defined = row
    return frozenset(ids) if defined else None


async def service_name(conn: Conn, jurisdiction_id: str, service_code: str) -> str | None:
    cur = await conn.execute(
        "select service_name from outbound.services where jurisdiction_id = %s and service_code = %s",
        (jurisdiction_id, service_code),
    )
    row = await cur.fetchone()
    return row[0] if row else None
