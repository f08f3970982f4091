"""The outbound config fold's rows in PostgreSQL: `outbound.bodies`, `outbound.routing_rules`, `outbound.services`
and `outbound.outbound_areas`, bound to the consumer runner's transaction; `apply_outbound_config_event` is the
consumer's handler (`service_layer/folds.py` decides)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg
from civicloop_events import Event, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import (
    BodyDefined,
    BodyPaused,
    BodyPollNudged,
    BodyResumed,
    RoutingRulesDefined,
)
from psycopg.types.json import Jsonb

from civicloop_outbound.service_layer.folds import (
    ExternalReference,
    ExternalReferences,
    OutboundConfigRows,
    when_config_event_update_outbound_config,
    when_external_references_assigned_remember_them,
)

Conn = psycopg.AsyncConnection[Any]


class PostgresOutboundConfigRows(OutboundConfigRows):
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def save_body(self, event: Event[BodyDefined]) -> None:
        p, j = event.payload, event.jurisdiction_id
        await self.conn.execute(
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
        # A new definition (perhaps a new endpoint) may take updates: the refusal learnt before is forgotten.
        await self.conn.execute(
            "delete from outbound.body_update_support where jurisdiction_id = %s and body_id = %s",
            (j, p.body_id),
        )

    async def pause_body(self, event: Event[BodyPaused]) -> None:
        p, j = event.payload, event.jurisdiction_id
        await self.conn.execute(
            "update outbound.bodies set paused = true, paused_reason = %s, paused_at = %s, last_event_id = %s"
            " where jurisdiction_id = %s and body_id = %s",
            (p.reason, event.occurred_at, event.event_id, j, p.body_id),
        )

    async def resume_body(self, event: Event[BodyResumed]) -> None:
        p, j = event.payload, event.jurisdiction_id
        await self.conn.execute(
            "update outbound.bodies set paused = false, paused_reason = '', paused_at = null, last_event_id = %s"
            " where jurisdiction_id = %s and body_id = %s",
            (event.event_id, j, p.body_id),
        )

    async def replace_rules(self, event: Event[RoutingRulesDefined]) -> None:
        p, j = event.payload, event.jurisdiction_id
        await self.conn.execute("delete from outbound.routing_rules where jurisdiction_id = %s", (j,))
        for position, rule in enumerate(p.rules):
            await self.conn.execute(
                "insert into outbound.routing_rules (jurisdiction_id, position, name, rule, last_event_id)"
                " values (%s, %s, %s, %s, %s)",
                (j, position, rule.name, rule.model_dump_json(), event.event_id),
            )

    async def save_service(self, event: Event[ServiceDefined]) -> None:
        p, j = event.payload, event.jurisdiction_id
        await self.conn.execute(
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

    async def save_area(self, event: Event[ServiceAreaDefined]) -> None:
        p, j = event.payload, event.jurisdiction_id
        await self.conn.execute(
            """insert into outbound.outbound_areas (jurisdiction_id, area_id, geometry, last_event_id)
               values (%s, %s, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), %s)
               on conflict (jurisdiction_id, area_id) do update set
                 geometry = excluded.geometry, last_event_id = excluded.last_event_id""",
            (j, p.area_id, json.dumps(p.geometry), event.event_id),
        )

    async def nudge_poll(self, event: Event[BodyPollNudged]) -> None:
        """A pending nudge the poller acts on in its next round; a later nudge before then is the same nudge."""
        p, j = event.payload, event.jurisdiction_id
        await self.conn.execute(
            """insert into outbound.body_poll_streaks (jurisdiction_id, body_id, nudged_at) values (%s, %s, %s)
               on conflict (jurisdiction_id, body_id)
               do update set nudged_at = coalesce(outbound.body_poll_streaks.nudged_at, excluded.nudged_at)""",
            (j, p.body_id, event.occurred_at),
        )
        await self.conn.execute(
            "update outbound.open311_tokens set next_poll_at = least(next_poll_at, %s)"
            " where jurisdiction_id = %s and body_id = %s and state = 'pending'",
            (event.occurred_at, j, p.body_id),
        )


class PostgresExternalReferences(ExternalReferences):
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def remember(self, references: Sequence[ExternalReference]) -> None:
        await self.conn.execute(
            "insert into outbound.external_refs (jurisdiction_id, body_id, external_id, request_id)"
            " select j, b, e, r from unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
            " with ordinality as x(j, b, e, r, n) order by n"
            " on conflict (jurisdiction_id, body_id, external_id) do nothing",
            [list(column) for column in zip(*references, strict=True)],
        )


async def apply_outbound_config_event(conn: Conn, event: Event[Any]) -> None:
    """ConsumerRunner handler of `jurisdiction.config`: the outbound config fold on this transaction's rows."""
    await when_config_event_update_outbound_config(PostgresOutboundConfigRows(conn), event)


async def fold_external_references(conn: Conn, events: Sequence[Event[Any]]) -> None:
    """ConsumerRunner batch handler of `requests.events`: `ExternalReferenceAssigned` -> `outbound.external_refs`."""
    await when_external_references_assigned_remember_them(PostgresExternalReferences(conn), events)


async def fold_external_reference(conn: Conn, event: Event[Any]) -> None:
    """One event (a batch of one)."""
    await fold_external_references(conn, [event])
