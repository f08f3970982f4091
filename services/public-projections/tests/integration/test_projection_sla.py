"""The SLA read model on the real broker and PostGIS: clocks and SLA instants folded from both topics, the state
decided in SQL at read time (the twin of the pure rules), counts per state, recomputation on a new definition."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from civicloop_events import Actor, Event
from civicloop_events.payloads import (
    CategoryChanged,
    CategorySla,
    Holiday,
    Location,
    OpeningHours,
    RequestStatus,
    ServiceRequestSubmitted,
    SlaDefined,
    StatusChanged,
    Weekday,
)
from civicloop_projections.adapters import sla_store
from civicloop_projections.domain.sla_fold import fold_requests, sla_row
from civicloop_projections.service_layer.sla_handlers import (
    when_request_events_update_sla,
    when_sla_defined_update_sla,
)
from civicloop_sla.clock import SlaPolicy, SlaState
from civicloop_testing.events import publish_events, request_event
from projection_events import new_jurisdiction, new_number
from projection_harness import agent_caught_up, caught_up, consumers_running

pytestmark = pytest.mark.integration

CHICAGO = ZoneInfo("America/Chicago")
AGENT = Actor(kind="agent", id="agent-7")
RESIDENT = Actor(kind="resident")
WORKDAYS = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


def definition(pothole_ack_minutes: int = 4 * 60) -> SlaDefined:
    return SlaDefined(
        time_zone="America/Chicago",
        opening_hours=[OpeningHours(day=d, opens="08:00", closes="17:00") for d in WORKDAYS],
        holidays=[Holiday(date=date(2026, 11, 26), name="Thanksgiving Day")],
        categories=[
            CategorySla(
                service_code="pothole",
                acknowledge_within_minutes=pothole_ack_minutes,
                resolve_within_minutes=16 * 60,
            ),
            CategorySla(service_code="streetlight", acknowledge_within_minutes=2 * 60),
        ],
        dormant_after_days=14,
    )


def sla_defined(jurisdiction: str, payload: SlaDefined) -> Event[Any]:
    return request_event(payload, request_id=None, actor=AGENT, source="admin", jurisdiction_id=jurisdiction)


def on(number: str, jurisdiction: str, payload, when: datetime, actor: Actor = AGENT) -> Event[Any]:
    return request_event(
        payload,
        request_id=number,
        actor=actor,
        source="agent",
        jurisdiction_id=jurisdiction,
        occurred_at=when,
    )


def submitted(number: str, jurisdiction: str, when: datetime, service_code: str = "pothole") -> Event[Any]:
    payload = ServiceRequestSubmitted(
        service_code=service_code, description="a hole", location=Location(lat=41.88, long=-87.63)
    )
    return on(number, jurisdiction, payload, when, actor=RESIDENT)


def status(number: str, jurisdiction: str, value: str, when: datetime) -> Event[Any]:
    return on(number, jurisdiction, StatusChanged(status=RequestStatus(value)), when)


async def stored(projections, jurisdiction: str) -> dict[str, dict[str, Any]]:
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select request_number, to_jsonb(s) from projections.request_sla s where jurisdiction_id = %s",
            (jurisdiction,),
        )
        return dict(await cur.fetchall())


async def sql_states(projections, jurisdiction: str, nows: list[datetime]) -> dict[tuple[str, datetime], Any]:
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            """select s.request_number, n.now, projections.sla_state(s, n.now)
                 from projections.request_sla s, unnest(%s::timestamptz[]) as n(now)
                where s.jurisdiction_id = %s""",
            (nows, jurisdiction),
        )
        return {(number, now): state for number, now, state in await cur.fetchall()}


async def test_requests_sla_is_folded_from_both_topics_and_judged_in_sql(
    projections, request_producer, kafka_bootstrap, fresh_topics
):
    j, late = new_jurisdiction(), new_jurisdiction()
    a, b, c, d, e, f, g, h = (new_number() for _ in range(8))
    on_hold = status(c, j, "on_hold", local(2026, 11, 16, 9, 0))
    events = [
        # A: nothing happens after a Friday-afternoon submission (a weekend in between).
        submitted(a, j, local(2026, 11, 13, 15, 0)),
        # B: submitted the day before Thanksgiving, acknowledged the day after it.
        submitted(b, j, local(2026, 11, 25, 15, 0)),
        status(b, j, "acknowledged", local(2026, 11, 27, 9, 59)),
        # C: on hold for a week; the on-hold event is delivered again after work resumed.
        submitted(c, j, local(2026, 11, 13, 15, 0)),
        on_hold,
        status(c, j, "in_progress", local(2026, 11, 23, 8, 0)),
        on_hold,
        # D: moved to a category with a shorter target to acknowledge.
        submitted(d, j, local(2026, 11, 13, 15, 0)),
        on(
            d,
            j,
            CategoryChanged(service_code="streetlight", previous_service_code="pothole"),
            local(2026, 11, 13, 16, 0),
        ),
        # F: closed after its resolution fell due; G: on hold, never resumed; H: both done in time.
        submitted(f, j, local(2026, 11, 13, 15, 0)),
        status(f, j, "closed", local(2026, 11, 18, 10, 0)),
        submitted(g, j, local(2026, 11, 13, 15, 0)),
        status(g, j, "on_hold", local(2026, 11, 16, 9, 0)),
        submitted(h, j, local(2026, 11, 13, 15, 0)),
        status(h, j, "acknowledged", local(2026, 11, 13, 16, 0)),
        status(h, j, "closed", local(2026, 11, 16, 12, 0)),
        # E: in a jurisdiction whose definition comes later.
        submitted(e, late, local(2026, 11, 13, 15, 0)),
    ]
    config = await publish_events(
        kafka_bootstrap, fresh_topics.jurisdiction_config, [sla_defined(j, definition())]
    )
    requests = [await request_producer.publish(event) for event in events]
    s = projections.settings

    async with consumers_running(projections):
        await caught_up(projections, s.sla_definitions_consumer_name, config)
        await caught_up(projections, s.sla_consumer_name, requests)
        await agent_caught_up(projections, requests)

        rows = await stored(projections, j)
        assert set(rows) == {a, b, c, d, f, g, h}
        assert (
            rows[c]["clock"]["status"] == "in_progress"
        )  # the on-hold event delivered again is not applied again
        # What the pure fold gives, the database holds.
        policy = SlaPolicy.of(definition())
        unique = list({event.event_id: event for event in events if event.jurisdiction_id == j}.values())
        expected = {n: sla_row(r, policy) for n, r in fold_requests({}, unique).items()}
        for number, row in expected.items():
            got = rows[number]
            for name, target in (("acknowledge", row.acknowledge), ("resolve", row.resolve)):
                assert got[f"{name}_minutes"] == target.minutes
                assert _instant(got[f"{name}_due_at"]) == target.due_at
                assert _instant(got[f"{name}_at_risk_from"]) == target.at_risk_from
            assert _instant(got["dormant_from"]) == row.dormant_from
        assert _instant(rows[a]["acknowledge_due_at"]) == local(2026, 11, 16, 10, 0)  # over the weekend
        assert _instant(rows[b]["resolve_due_at"]) == local(2026, 11, 30, 13, 0)  # over Thanksgiving
        assert _instant(rows[c]["resolve_due_at"]) == local(2026, 11, 24, 12, 0)  # a week on hold
        assert _instant(rows[d]["acknowledge_due_at"]) == local(2026, 11, 13, 17, 0)

        # SQL judges every request as the pure rules do, at every half hour of three weeks.
        nows = [local(2026, 11, 13, 14, 0) + timedelta(minutes=30 * i) for i in range(3 * 7 * 48)]
        states = await sql_states(projections, j, nows)
        assert len(states) == 7 * len(nows)
        assert set(states.values()) == {s.value for s in SlaState}
        for (number, now), state in states.items():
            assert state == _value(expected[number].state_at(now)), (number, now)

        # Queues: the states and dormancy at Monday after Thanksgiving, 09:00.
        now = local(2026, 11, 30, 9, 0)
        async with projections.pool.connection() as conn:
            counts = await sla_store.sla_counts(conn, j, now)
            breached = await _numbers(conn, j, *sla_store.sla_state_condition([SlaState.breached], now))
            at_risk_or_due = await _numbers(conn, j, *sla_store.sla_state_condition(["at_risk", "due"], now))
            dormant = await _numbers(conn, j, *sla_store.dormant_condition(True, now))
            awake = await _numbers(conn, j, *sla_store.dormant_condition(False, now))
            detail = await sla_store.sla_of(conn, [a, e], now)
        assert counts == {"breached": 3, "at_risk": 1, "due": 1, "met": 1, "missed": 1, "dormant": 3}
        assert breached == sorted([a, c, d]) and at_risk_or_due == sorted([b, g])
        assert dormant == sorted([a, d, g]) and awake == sorted([b, c, f, h])
        assert _instant(rows[g]["resolve_due_at"]) is None  # paused short of its target
        assert detail[a]["state"] == "breached" and detail[a]["dormant"] is True
        assert detail[a]["acknowledge"]["minutes"] == 240 and detail[a]["resolve"]["done_at"] is None
        assert detail[e]["state"] is None  # its jurisdiction has no definition yet

        # A new definition recomputes its jurisdiction's requests; the other jurisdiction's is applied to its own.
        config = await publish_events(
            kafka_bootstrap,
            fresh_topics.jurisdiction_config,
            [sla_defined(j, definition(pothole_ack_minutes=60)), sla_defined(late, definition())],
        )
        await caught_up(projections, s.sla_definitions_consumer_name, config)
        rows = await stored(projections, j)
        assert _instant(rows[a]["acknowledge_due_at"]) == local(2026, 11, 13, 16, 0)
        assert rows[a]["acknowledge_minutes"] == 60
        assert _instant(rows[d]["acknowledge_due_at"]) == local(2026, 11, 13, 17, 0)  # streetlight: unchanged
        rows = await stored(projections, late)
        assert _instant(rows[e]["acknowledge_due_at"]) == local(2026, 11, 16, 10, 0)


async def _waiting_for_a_lock(watcher: psycopg.AsyncConnection, pid: int) -> None:
    """Until the backend `pid` waits for an advisory lock (bounded)."""
    async with asyncio.timeout(10):
        while True:
            cur = await watcher.execute(
                "select 1 from pg_locks where pid = %s and locktype = 'advisory' and not granted", (pid,)
            )
            if await cur.fetchone():
                return
            await asyncio.sleep(0.01)


async def _apply(conn: psycopg.AsyncConnection, event: Event[Any]) -> None:
    async with conn.transaction():
        if event.request_id is None:
            await when_sla_defined_update_sla(sla_store.PostgresSlaStore(conn), event)
        else:
            await when_request_events_update_sla(sla_store.PostgresSlaStore(conn), [event])


@pytest.mark.parametrize("first", ["request", "definition"])
async def test_a_request_and_a_definition_applied_at_once_never_miss_each_other(migrated_dsn, first):
    """Each consumer's transaction takes the jurisdiction's lock before reading: the one that comes second waits
    for the first to commit, then sees its row (without the lock, the definition would recompute no request, or
    the request would be stored without the definition, whichever committed last)."""
    j, number = new_jurisdiction(), new_number()
    events = {
        "request": submitted(number, j, local(2026, 11, 13, 15, 0)),
        "definition": sla_defined(j, definition()),
    }
    second = "definition" if first == "request" else "request"
    connect = psycopg.AsyncConnection.connect
    async with (
        await connect(migrated_dsn) as one,
        await connect(migrated_dsn) as two,
        await connect(migrated_dsn, autocommit=True) as watcher,
    ):
        async with one.transaction():
            store = sla_store.PostgresSlaStore(one)
            if first == "request":
                await when_request_events_update_sla(store, [events["request"]])
            else:
                await when_sla_defined_update_sla(store, events["definition"])
            applying = asyncio.create_task(_apply(two, events[second]))
            await _waiting_for_a_lock(watcher, two.info.backend_pid)
            assert not applying.done()
        await applying
        cur = await watcher.execute(
            "select acknowledge_due_at from projections.request_sla where request_number = %s", (number,)
        )
        assert await cur.fetchone() == (local(2026, 11, 16, 10, 0),)


async def _numbers(conn, jurisdiction: str, condition: str, params: list[Any]) -> list[str]:
    cur = await conn.execute(
        f"""select r.request_number from projections.agent_requests r {sla_store.SLA_JOIN}
             where r.jurisdiction_id = %s and {condition} order by r.request_number""",
        [jurisdiction, *params],
    )
    return [number for (number,) in await cur.fetchall()]


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _value(state: SlaState | None) -> str | None:
    return None if state is None else state.value
