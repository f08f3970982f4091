"""The outbound tables in PostgreSQL as sending and routing read them (the config fold writes them:
`adapters/postgres_config.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from civicloop_events.payloads import BodyDefined, RoutingRule, SendMethod

from civicloop_outbound.domain.ports import BodyRecord, DispatchPayload

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


async def service_name(conn: Conn, jurisdiction_id: str, service_code: str) -> str | None:
    cur = await conn.execute(
        "select service_name from outbound.services where jurisdiction_id = %s and service_code = %s",
        (jurisdiction_id, service_code),
    )
    row = await cur.fetchone()
    return row[0] if row else None


Point = tuple[str, float, float]  # (jurisdiction_id, lat, long)


async def areas_at_points(conn: Conn, points: Sequence[Point]) -> list[frozenset[str] | None]:
    """The service areas containing each point, in one query; None where it is unknown (the point's city defines no
    areas). A submission without a point has no area either: it is not asked about."""
    if not points:
        return []
    cur = await conn.execute(
        """select coalesce(array_agg(a.area_id) filter (
                    where ST_Intersects(a.geometry, ST_SetSRID(ST_MakePoint(p.long, p.lat), 4326))), '{}'),
                  count(a.area_id)
             from unnest(%s::text[], %s::float8[], %s::float8[]) with ordinality as p(j, lat, long, i)
             left join outbound.outbound_areas a on a.jurisdiction_id = p.j
            group by p.i order by p.i""",
        ([j for j, _, _ in points], [lat for _, lat, _ in points], [long for _, _, long in points]),
    )
    return [frozenset(ids) if defined else None for ids, defined in await cur.fetchall()]


async def service_names(conn: Conn, services: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The catalogue's name of each (jurisdiction, service code) it knows, in one query."""
    if not services:
        return {}
    cur = await conn.execute(
        "select s.jurisdiction_id, s.service_code, s.service_name from outbound.services s"
        " join unnest(%s::text[], %s::text[]) as k(j, c) on s.jurisdiction_id = k.j and s.service_code = k.c",
        ([j for j, _ in services], [c for _, c in services]),
    )
    return {(j, c): name for j, c, name in await cur.fetchall()}


async def imported_among(conn: Conn, request_ids: Sequence[str]) -> set[str]:
    """Which of these requests came from a back-end (a `RequestImported` was folded for them)."""
    if not request_ids:
        return set()
    cur = await conn.execute(
        "select request_id from outbound.outbound_imported where request_id = any(%s)", (list(request_ids),)
    )
    return {rid for (rid,) in await cur.fetchall()}


async def remember_imports(conn: Conn, imports: Sequence[tuple[str, str, str]]) -> None:
    """(request_id, body_id, external_id) of imported requests; the first one of a request stays."""
    if not imports:
        return
    await conn.execute(
        "insert into outbound.outbound_imported (request_id, body_id, external_id)"
        " select r, b, e from unnest(%s::text[], %s::text[], %s::text[]) with ordinality as i(r, b, e, n)"
        " order by n on conflict (request_id) do nothing",
        ([r for r, _, _ in imports], [b for _, b, _ in imports], [e for _, _, e in imports]),
    )


QueueRow = tuple[str, str, str, str, str, str, UUID, UUID, str]
_QUEUE_COLUMNS = (
    "request_id, jurisdiction_id, body_id, method, purpose, payload, causation_id, correlation_id, update_key"
)


async def enqueue(conn: Conn, rows: Sequence[QueueRow]) -> None:
    """Queue rows in their order (`seq` follows it: each body's items are sent in that order); a row already queued
    for its (request, body, purpose, update key) stays."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    await conn.execute(
        f"insert into outbound.outbound_queue ({_QUEUE_COLUMNS})"
        f" select {_QUEUE_COLUMNS} from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::jsonb[], %s::uuid[], %s::uuid[], %s::text[])"
        f" with ordinality as q({_QUEUE_COLUMNS}, n)"
        " order by n on conflict (request_id, body_id, purpose, update_key) do nothing",
        [list(c) for c in columns],
    )


@dataclass(frozen=True)
class Delivery:
    """A request's latest delivery to a body: where its updates go."""

    request_id: str
    jurisdiction_id: str
    body_id: str
    method: SendMethod
    payload: DispatchPayload
    state: str


async def latest_delivery(conn: Conn, request_id: str) -> Delivery | None:
    """The request's latest `deliver` row (a category change that moved it adds a later one), or None when it was
    never queued for a body."""
    cur = await conn.execute(
        "select jurisdiction_id, body_id, method, payload, state from outbound.outbound_queue"
        " where request_id = %s and purpose = 'deliver' order by seq desc limit 1",
        (request_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    j, body_id, method, payload, state = row
    return Delivery(
        request_id, j, body_id, SendMethod(method), DispatchPayload.model_validate(payload), state
    )


# A report (or its priority copy) to a body: what a requeue puts back on the queue.
_REPORTS = "('deliver', 'priority_copy')"
# Why an update was not sent: its request's delivery to the body had not gone (given up); a requeue of that delivery
# requeues such updates too, behind it.
NEVER_REACHED = "the request itself never reached this body"


async def requeue(conn: Conn, *, request_id: str, jurisdiction_id: str, body_id: str) -> list[int]:
    """The request's reports to the body that were given up, or are still queued, back on the queue with their
    attempts reset and due now; their `seq` stays, so each keeps its place in the body's order. A report already
    sent is left alone. Returns the rows requeued. A row being sent right now is waited for (its lock), then
    judged as it ended. The updates of the request that were not sent because the report had not reached the body
    go back on the queue too (behind the report, by their `seq`)."""
    requeue_rows = (
        "update outbound.outbound_queue set state = 'queued', attempts = 0, next_attempt_at = now(),"
        " requeues = requeues + 1 where request_id = %s and jurisdiction_id = %s and body_id = %s and "
    )
    key = (request_id, jurisdiction_id, body_id)
    cur = await conn.execute(
        requeue_rows + f"purpose in {_REPORTS} and state in ('failed', 'queued') returning seq", key
    )
    reports = sorted(seq for (seq,) in await cur.fetchall())
    if not reports:
        return []
    cur = await conn.execute(
        requeue_rows
        + "purpose = 'update' and state = 'undeliverable' and last_error = %s and seq > %s returning seq",
        (*key, NEVER_REACHED, reports[0]),
    )
    return sorted(reports + [seq for (seq,) in await cur.fetchall()])


@dataclass(frozen=True)
class GivenUp:
    """A request's report to a body, given up: what `civicloop-outbound requeue` names."""

    request_id: str
    jurisdiction_id: str
    body_id: str
    seq: int  # the latest of the request's given-up rows for the body
    attempts: int
    requeues: int
    last_error: str | None


async def given_up(
    conn: Conn,
    *,
    request_id: str | None = None,
    body_id: str | None = None,
    jurisdiction_id: str | None = None,
) -> list[GivenUp]:
    """Given-up reports, one per (request, body), of a request or of a body (of one jurisdiction, or of all)."""
    cur = await conn.execute(
        "select distinct on (jurisdiction_id, body_id, request_id)"
        "       request_id, jurisdiction_id, body_id, seq, attempts, requeues, last_error"
        "  from outbound.outbound_queue"
        f" where state = 'failed' and purpose in {_REPORTS}"
        "   and (%(r)s::text is null or request_id = %(r)s) and (%(b)s::text is null or body_id = %(b)s)"
        "   and (%(j)s::text is null or jurisdiction_id = %(j)s)"
        " order by jurisdiction_id, body_id, request_id, seq desc",
        {"r": request_id, "b": body_id, "j": jurisdiction_id},
    )
    rows = [GivenUp(*row) for row in await cur.fetchall()]
    return sorted(rows, key=lambda g: g.seq)
