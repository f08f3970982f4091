"""The outbound tables in PostgreSQL as sending and routing read them (the config fold writes them:
`adapters/postgres_config.py`)."""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_events.payloads import BodyDefined, RoutingRule

from civicloop_outbound.domain.ports import BodyRecord

Conn = psycopg.AsyncConnection[Any]


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
