"""The SLA read model in PostgreSQL: the latest definition per jurisdiction, each request's clock and SLA instants,
and what the agent queries need to join, filter and count by SLA state.

Writes run in the consumer runner's transaction. A request write reads its jurisdiction's definition; a definition
write recomputes the jurisdiction's requests. A per-jurisdiction advisory lock (shared for request writes, exclusive
for a definition, taken before any row and held to the commit) keeps either from missing the other's uncommitted
rows, so the stored rows are the same whichever consumer gets there first, and a rebuild gives identical rows.

Reads: `SLA_JOIN` joins a request of `projections.agent_requests r` to its row (alias `sla`); `SLA_STATE` is its
state at a `now` given as the one parameter (`%s`): `breached`, `at_risk`, `due`, `missed`, `met`, or null when
its category has no target (or the jurisdiction no definition).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events import Event
from civicloop_events.payloads import SlaDefined
from civicloop_sla.clock import SlaPolicy, SlaState
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from civicloop_projections.domain.sla_fold import (
    RequestSla,
    SlaRow,
    clock_from_json,
    clock_to_json,
    policy_of,
)
from civicloop_projections.service_layer.sla_handlers import SlaStore

SLA_JOIN = "left join projections.request_sla sla on sla.request_number = r.request_number"
SLA_STATE = "projections.sla_state(sla, %s::timestamptz)"
SLA_DORMANT = "sla.dormant_from <= %s::timestamptz"

# A request's SLA for an API answer: its state and, per target, its length in minutes and its instants. Takes `now`
# (twice) as parameters.
SLA_COLUMNS = f"""case when sla.request_number is null then null else json_build_object(
    'state', {SLA_STATE},
    'dormant', coalesce({SLA_DORMANT}, false),
    'dormant_from', sla.dormant_from,
    'acknowledge', case when sla.acknowledge_minutes is null then null else json_build_object(
        'minutes', sla.acknowledge_minutes, 'at_risk_from', sla.acknowledge_at_risk_from,
        'due_at', sla.acknowledge_due_at, 'done_at', sla.acknowledged_at) end,
    'resolve', case when sla.resolve_minutes is null then null else json_build_object(
        'minutes', sla.resolve_minutes, 'at_risk_from', sla.resolve_at_risk_from,
        'due_at', sla.resolve_due_at, 'done_at', sla.resolved_at) end) end as sla"""


def _lock_key(jurisdiction_id: str) -> tuple[str, str]:
    return ("hashtextextended(%s, 0)", f"projections.sla:{jurisdiction_id}")


async def lock_jurisdictions_shared(
    conn: psycopg.AsyncConnection[Any], jurisdictions: Collection[str]
) -> None:
    """Held to the commit: no definition of these jurisdictions is applied meanwhile."""
    for jurisdiction in sorted(jurisdictions):
        expression, key = _lock_key(jurisdiction)
        await conn.execute(f"select pg_advisory_xact_lock_shared({expression})", (key,))


async def lock_jurisdiction_exclusive(conn: psycopg.AsyncConnection[Any], jurisdiction: str) -> None:
    expression, key = _lock_key(jurisdiction)
    await conn.execute(f"select pg_advisory_xact_lock({expression})", (key,))


def _request(row: dict[str, Any]) -> RequestSla:
    return RequestSla(row["request_number"], row["jurisdiction_id"], clock_from_json(row["clock"]))


async def load_for_update(
    conn: psycopg.AsyncConnection[Any], request_numbers: Collection[str]
) -> dict[str, RequestSla]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        """select request_number, jurisdiction_id, clock from projections.request_sla
            where request_number = any(%s) order by request_number for update""",
        (list(request_numbers),),
    )
    return {row["request_number"]: _request(row) for row in await cur.fetchall()}


async def load_jurisdiction_for_update(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str
) -> list[RequestSla]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        """select request_number, jurisdiction_id, clock from projections.request_sla
            where jurisdiction_id = %s order by request_number for update""",
        (jurisdiction_id,),
    )
    return [_request(row) for row in await cur.fetchall()]


@lru_cache(maxsize=256)
def _policy(event_id: UUID, definition: str) -> SlaPolicy | None:
    # Keyed by the definition's event: a batch does not rebuild the calendar of a definition it has seen.
    return policy_of(SlaDefined.model_validate_json(definition))


async def policies(
    conn: psycopg.AsyncConnection[Any], jurisdictions: Collection[str]
) -> dict[str, SlaPolicy]:
    """The policy of each jurisdiction that has a definition."""
    cur = await conn.execute(
        "select jurisdiction_id, event_id, definition::text from projections.sla_definitions"
        " where jurisdiction_id = any(%s)",
        (list(jurisdictions),),
    )
    found = {}
    for jurisdiction, event_id, definition in await cur.fetchall():
        policy = _policy(event_id, definition)
        if policy is not None:
            found[jurisdiction] = policy
    return found


async def define(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
    """The jurisdiction's definition is this one (the latest on the log replaces every earlier one)."""
    payload: SlaDefined = event.payload
    await conn.execute(
        """insert into projections.sla_definitions (jurisdiction_id, definition, defined_at, event_id)
           values (%s, %s, %s, %s)
           on conflict (jurisdiction_id) do update set
             definition = excluded.definition, defined_at = excluded.defined_at, event_id = excluded.event_id""",
        (event.jurisdiction_id, Jsonb(payload.model_dump(mode="json")), event.occurred_at, event.event_id),
    )


_ROW_COLUMNS = (
    ("request_number", "text"),
    ("jurisdiction_id", "text"),
    ("service_code", "text"),
    ("clock", "jsonb"),
    ("acknowledge_minutes", "integer"),
    ("acknowledge_at_risk_from", "timestamptz"),
    ("acknowledge_due_at", "timestamptz"),
    ("acknowledged_at", "timestamptz"),
    ("resolve_minutes", "integer"),
    ("resolve_at_risk_from", "timestamptz"),
    ("resolve_due_at", "timestamptz"),
    ("resolved_at", "timestamptz"),
    ("dormant_from", "timestamptz"),
)
_NAMES = ", ".join(name for name, _ in _ROW_COLUMNS)
_SAVE = f"""insert into projections.request_sla ({_NAMES})
    select * from unnest({", ".join(f"%s::{kind}[]" for _, kind in _ROW_COLUMNS)})
    on conflict (request_number) do update set
      {", ".join(f"{name} = excluded.{name}" for name, _ in _ROW_COLUMNS[1:])}"""


def _values(row: SlaRow) -> tuple[Any, ...]:
    a, r = row.acknowledge, row.resolve
    return (
        row.request_number,
        row.jurisdiction_id,
        row.service_code,
        Jsonb(clock_to_json(row.clock)),
        a.minutes,
        a.at_risk_from,
        a.due_at,
        a.done_at,
        r.minutes,
        r.at_risk_from,
        r.due_at,
        r.done_at,
        row.dormant_from,
    )


async def save(conn: psycopg.AsyncConnection[Any], rows: Sequence[SlaRow]) -> None:
    """Upsert the rows in one statement."""
    if rows:
        columns = [list(column) for column in zip(*(_values(row) for row in rows), strict=True)]
        await conn.execute(_SAVE, columns)


async def sla_counts(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, now: datetime
) -> dict[str, int]:
    """How many requests of the jurisdiction are in each SLA state at `now` (every state named, zeros too), and
    how many of those not closed are dormant (`dormant`)."""
    cur = await conn.execute(
        f"""select {SLA_STATE}, count(*) from projections.request_sla sla
             where jurisdiction_id = %s group by 1""",
        (now, jurisdiction_id),
    )
    counts = {state.value: 0 for state in SlaState}
    for state, count in await cur.fetchall():
        if state is not None:
            counts[state] = count
    cur = await conn.execute(
        f"select count(*) from projections.request_sla sla where jurisdiction_id = %s and {SLA_DORMANT}",
        (jurisdiction_id, now),
    )
    (counts["dormant"],) = await cur.fetchone()  # type: ignore[misc]
    return counts


def sla_state_condition(states: Collection[SlaState | str], now: datetime) -> tuple[str, list[Any]]:
    """A `where` clause (with `SLA_JOIN`) keeping the requests whose state at `now` is one of `states`."""
    return f"{SLA_STATE} = any(%s)", [now, [SlaState(s).value for s in states]]


def dormant_condition(dormant: bool, now: datetime) -> tuple[str, list[Any]]:
    """A `where` clause (with `SLA_JOIN`): dormant at `now` by the jurisdiction's `dormant_after_days`, or not."""
    return (SLA_DORMANT if dormant else f"not coalesce({SLA_DORMANT}, false)"), [now]


async def sla_of(
    conn: psycopg.AsyncConnection[Any], request_numbers: Collection[str], now: datetime
) -> dict[str, dict[str, Any]]:
    """The SLA of each request that has a row, as `SLA_COLUMNS` shapes it (for a request's detail)."""
    cur = await conn.execute(
        f"""select sla.request_number, {SLA_COLUMNS} from projections.request_sla sla
             where sla.request_number = any(%s)""",
        (now, now, list(request_numbers)),
    )
    return {number: sla for number, sla in await cur.fetchall() if sla is not None}


class PostgresSlaStore(SlaStore):
    """Bound to the consumer runner's connection, inside its transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def lock_shared(self, jurisdictions: Collection[str]) -> None:
        await lock_jurisdictions_shared(self.conn, jurisdictions)

    async def lock_exclusive(self, jurisdiction_id: str) -> None:
        await lock_jurisdiction_exclusive(self.conn, jurisdiction_id)

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, RequestSla]:
        return await load_for_update(self.conn, request_numbers)

    async def load_jurisdiction_for_update(self, jurisdiction_id: str) -> list[RequestSla]:
        return await load_jurisdiction_for_update(self.conn, jurisdiction_id)

    async def policies(self, jurisdictions: Collection[str]) -> dict[str, SlaPolicy]:
        return await policies(self.conn, jurisdictions)

    async def define(self, event: Event[Any]) -> None:
        await define(self.conn, event)

    async def save(self, rows: Sequence[SlaRow]) -> None:
        await save(self.conn, rows)
