"""`intake.sla_definitions`: the latest `jurisdiction.sla.defined` of each jurisdiction, folded from the
configuration topic by its own consumer (`intake.sla.v1`, from the log's start), exactly once through the consumer
runner. The topic is keyed by the jurisdiction, so its events arrive in the order they were written: the last one
folded is the one in force."""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_events import Actor, Event
from civicloop_events.payloads.service_levels import SlaDefined
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.service_layer.sla_definitions import DefinedSla, SlaDefinitions

SLA_CONSUMER = "intake.sla.v1"


class PostgresSlaDefinitions(SlaDefinitions):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def current(self, jurisdiction_id: str) -> DefinedSla | None:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "select definition, event_id, actor_kind, actor_id, defined_at from intake.sla_definitions"
                " where jurisdiction_id = %s",
                (jurisdiction_id,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return DefinedSla(
            jurisdiction_id=jurisdiction_id,
            definition=SlaDefined.model_validate(row["definition"]),
            event_id=row["event_id"],
            actor=Actor(kind=row["actor_kind"], id=row["actor_id"]),
            defined_at=row["defined_at"],
        )


async def fold_sla_definition(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
    """The consumer's handler: a definition replaces the jurisdiction's row; other events change nothing."""
    if not isinstance(event.payload, SlaDefined):
        return
    await conn.execute(
        "insert into intake.sla_definitions"
        " (jurisdiction_id, definition, event_id, actor_kind, actor_id, defined_at)"
        " values (%s, %s, %s, %s, %s, %s)"
        " on conflict (jurisdiction_id) do update set definition = excluded.definition,"
        " event_id = excluded.event_id, actor_kind = excluded.actor_kind, actor_id = excluded.actor_id,"
        " defined_at = excluded.defined_at",
        (
            event.jurisdiction_id,
            Jsonb(event.payload.model_dump(mode="json")),
            event.event_id,
            event.actor.kind.value,
            event.actor.id,
            event.occurred_at,
        ),
    )
