"""Writes of the catalogue view: services (the latest definition wins) and service areas (every version kept)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from civicloop_events import Event, ServiceAreaDefined, ServiceDefined
from psycopg.types.json import Jsonb

from civicloop_projections.adapters.catalogue_lock import lock_catalogue_exclusive
from civicloop_projections.service_layer.ports import CatalogueStore


class PostgresCatalogueStore(CatalogueStore):
    """Bound to the consumer runner's connection, inside its transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def define_service(self, event: Event[Any]) -> None:
        await lock_catalogue_exclusive(self.conn)
        await define_service(self.conn, event)

    async def define_service_area(self, event: Event[Any], geometry: dict[str, Any]) -> int:
        await lock_catalogue_exclusive(self.conn)
        return await define_service_area(self.conn, event, geometry)


async def define_service(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
    p: ServiceDefined = event.payload
    await conn.execute(
        """insert into projections.services (jurisdiction_id, service_code, service_name, description, service_group,
             keywords, type, attributes, active, defined_at, last_event_id)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (jurisdiction_id, service_code) do update set
             service_name = excluded.service_name, description = excluded.description,
             service_group = excluded.service_group, keywords = excluded.keywords, type = excluded.type,
             attributes = excluded.attributes, active = excluded.active, defined_at = excluded.defined_at,
             last_event_id = excluded.last_event_id""",
        (
            event.jurisdiction_id,
            p.service_code,
            p.service_name,
            p.description,
            p.group,
            p.keywords,
            p.type.value,
            Jsonb([a.model_dump(mode="json") for a in p.attributes]),
            p.active,
            event.occurred_at,
            event.event_id,
        ),
    )
    await conn.execute(
        """update projections.agent_requests set service_name = %s
            where jurisdiction_id = %s and service_code = %s and service_name is distinct from %s""",
        (p.service_name, event.jurisdiction_id, p.service_code, p.service_name),
    )


async def define_service_area(
    conn: psycopg.AsyncConnection[Any], event: Event[Any], geometry: dict[str, Any]
) -> int:
    """Add the next version of the area, make it current, and re-resolve the requests whose area may change."""
    p: ServiceAreaDefined = event.payload
    await conn.execute(
        "update projections.service_areas set is_current = false"
        " where jurisdiction_id = %s and area_id = %s and is_current",
        (event.jurisdiction_id, p.area_id),
    )
    cur = await conn.execute(
        """insert into projections.service_areas (jurisdiction_id, area_id, version, name, kind, geometry, source,
             defined_at, event_id, is_current)
           select %s, %s,
                  coalesce((select max(version) from projections.service_areas
                             where jurisdiction_id = %s and area_id = %s), 0) + 1,
                  %s, %s,
                  ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)), 3)),
                  %s, %s, %s, true
           returning version""",
        (
            event.jurisdiction_id,
            p.area_id,
            event.jurisdiction_id,
            p.area_id,
            p.name,
            p.kind,
            json.dumps(geometry),
            p.source,
            event.occurred_at,
            event.event_id,
        ),
    )
    (version,) = await cur.fetchone()  # type: ignore[misc]
    # Requests inside the new boundary, assigned to this area before, or placed in it by geo, take their area again
    # by the one rule of `projections.request_area`.
    await conn.execute(
        """update projections.agent_requests r
              set service_area_id = projections.request_area(r.jurisdiction_id, r.location, r.geo_area_ids)
            where r.jurisdiction_id = %s
              and (r.service_area_id = %s
                   or %s = any(r.geo_area_ids)
                   or (r.location is not null
                       and ST_Covers((select a.geometry from projections.service_areas a
                                       where a.jurisdiction_id = %s and a.area_id = %s and a.is_current),
                                     r.location::geometry)))""",
        (event.jurisdiction_id, p.area_id, p.area_id, event.jurisdiction_id, p.area_id),
    )
    return version
