"""Staff's work in the agent view through the real broker and PostGIS: a worked request's row, visits, comments and
history with actors; the queues' filters, their counts in one call, and keyset paging over a queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from civicloop_events.payloads import (
    CategorySla,
    OpeningHours,
    Routed,
    SlaClock,
    SlaDefined,
    Weekday,
)
from civicloop_projections.adapters.agent_views import filter_sql
from civicloop_projections.domain.queries import AgentRequestFilter
from civicloop_testing.events import publish_events, request_event
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers
from projection_events import (
    AGENT,
    assigned,
    at,
    category_changed,
    closed_with_reason,
    commented,
    new_jurisdiction,
    new_number,
    outbound,
    priority_changed,
    reopened,
    service_defined,
    submitted,
    visit_cancelled,
    visit_rescheduled,
    visit_scheduled,
)
from projection_harness import api_client, config_caught_up, numbers_of, query_plan

pytestmark = pytest.mark.integration


def _z(moment: datetime) -> str:
    """As the API writes a UTC time."""
    return moment.isoformat().replace("+00:00", "Z")


def iso(minutes: float) -> str:
    return _z(at(minutes))


def an_hour_ago() -> float:
    """Minutes after the events' fixed origin (`at(0)`) of an instant an hour before now."""
    return (datetime.now(UTC) - at(0)).total_seconds() / 60 - 60


async def test_a_worked_request_shows_every_step_with_who_and_when(settings, request_producer):
    j, number, me = new_jurisdiction(), new_number(), str(uuid.uuid4())
    config = [service_defined(j, "pothole", "Pothole"), service_defined(j, "sidewalk", "Sidewalk Repair")]
    events = [
        submitted(number, j, minutes=0),
        outbound(number, j, Routed(body_id="streets", team="potholes", priority="normal"), minutes=1),
        assigned(number, j, team="crews-north", staff_id=me, minutes=2),
        commented(number, j, "we are on it", "public", minutes=3),
        commented(number, j, "caller was rude", "internal", minutes=4),
        visit_scheduled(number, j, "v1", 600, minutes=5),
        visit_rescheduled(number, j, "v1", 600, 900, minutes=6),
        visit_scheduled(number, j, "v2", 2000, minutes=7),
        visit_cancelled(number, j, "v2", 2000, minutes=8),
        priority_changed(number, j, "high", minutes=9),
        category_changed(number, j, "sidewalk", "pothole", minutes=10),
        closed_with_reason(number, j, "not_ours", referred_to="State DOT", minutes=11),
        reopened(number, j, "closed_in_error", minutes=12),
        closed_with_reason(number, j, "fixed", minutes=13),
    ]
    async with api_client(settings, jurisdiction_id=j) as client:
        await config_caught_up(
            settings,
            await publish_events(settings.kafka_bootstrap, settings.topics.jurisdiction_config, config),
        )
        last = [await request_producer.publish(e) for e in events][-1]
        r = await client.get(
            f"/api/v1/agent/requests/{number}", params={"after": f"{last.partition}:{last.offset}"}
        )
        assert r.status_code == 200, r.text
        body = r.json()

    assert (body["status"], body["status_reason"], body["referred_to"], body["status_note"]) == (
        "closed",
        "fixed",
        None,
        "closed: fixed",
    )
    assert (body["reopen_count"], body["reopened_at"], body["closed_at"]) == (
        1,
        iso(12),
        iso(13),
    )
    assert (body["team"], body["assignee"], body["assigned_by"], body["assigned_at"]) == (
        "crews-north",
        me,
        "agent-7",
        iso(2),
    )
    assert (body["priority"], body["service_code"], body["service_name"], body["previous_service_code"]) == (
        "high",
        "sidewalk",
        "Sidewalk Repair",
        "pothole",
    )
    assert (body["public_comments"], body["internal_comments"]) == (1, 1)
    assert [(c["visibility"], c["text"], c["actor"]["id"]) for c in body["comments"]] == [
        ("public", "we are on it", "agent-7"),
        ("internal", "caller was rude", "agent-7"),
    ]
    assert [(v["visit_id"], v["state"], v["starts_at"], v["duration_minutes"]) for v in body["visits"]] == [
        ("v1", "planned", iso(900), 90),
        ("v2", "cancelled", iso(2000), 60),
    ]
    # The full history: every event in log order, who did it and when.
    assert [(h["type"], h["actor"]["id"], h["occurred_at"]) for h in body["history"]] == [
        (e.type, e.actor.id, _z(e.occurred_at)) for e in events
    ]
    assert body["last_activity_at"] == iso(13)


async def test_queues_filter_count_and_page(settings, request_producer, migrated_dsn):
    j, me, colleague = new_jurisdiction(), str(uuid.uuid4()), str(uuid.uuid4())
    n = {label: new_number() for label in ("mine", "mine_high", "colleague", "team_only", "fresh", "closed")}
    recent = an_hour_ago()
    events = [
        *(submitted(number, j, minutes=i) for i, number in enumerate(n.values())),
        assigned(n["mine"], j, team="north", staff_id=me, minutes=10),
        assigned(n["mine_high"], j, team="north", staff_id=me, minutes=11),
        priority_changed(n["mine_high"], j, "high", minutes=12),
        assigned(n["colleague"], j, team="south", staff_id=colleague, minutes=13),
        assigned(n["team_only"], j, team="south", staff_id=None, minutes=14),
        # Routing, sending and geo are not activity; a comment is.
        outbound(
            n["team_only"], j, Routed(body_id="streets", team="potholes", priority="low"), minutes=recent
        ),
        commented(n["fresh"], j, "still there?", "public", minutes=recent),
        closed_with_reason(n["closed"], j, "fixed", minutes=15),
    ]
    mine_headers = staff_headers(uuid.UUID(me), jurisdiction_id=j)
    async with api_client(settings, jurisdiction_id=j) as client:
        last = [await request_producer.publish(e) for e in events][-1]
        after = {"after": f"{last.partition}:{last.offset}"}

        async def listed(**params) -> list[str]:
            return await numbers_of(client, **after, **params)

        assert await listed(team="north") == sorted([n["mine"], n["mine_high"]])
        assert await listed(team=["north", "south"]) == sorted(
            [n["mine"], n["mine_high"], n["colleague"], n["team_only"]]
        )
        assert await listed(assignee=colleague) == [n["colleague"]]
        mine = await client.get(
            "/api/v1/agent/requests", params={"mine": "true", **after}, headers=mine_headers
        )
        assert sorted(i["request_number"] for i in mine.json()["items"]) == sorted(
            [n["mine"], n["mine_high"]]
        )
        assert await listed(unassigned="true", status=["open"]) == sorted([n["team_only"], n["fresh"]])
        assert await listed(team="north", priority="high") == [n["mine_high"]]
        # Dormant: open and no one acted for a day; the comment an hour ago keeps `fresh` awake, routing does not.
        assert await listed(dormant_days=1) == sorted(
            [n["mine"], n["mine_high"], n["colleague"], n["team_only"]]
        )
        both = await client.get(
            "/api/v1/agent/requests", params={"mine": "true", "assignee": me}, headers=mine_headers
        )
        assert both.status_code == 422

        # Keyset paging over a queue: every request once, in the stable order.
        whole = (await client.get("/api/v1/agent/requests", params={"status": "open", "limit": 500})).json()
        paged, cursor = [], None
        while True:
            page = (
                await client.get(
                    "/api/v1/agent/requests",
                    params={"status": "open", "limit": 2, **({"cursor": cursor} if cursor else {})},
                )
            ).json()
            paged += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [i["request_number"] for i in paged] == [i["request_number"] for i in whole["items"]]

        counts = (
            await client.get("/api/v1/agent/queues", params={"dormant_days": 1}, headers=mine_headers)
        ).json()
    assert counts["jurisdiction_id"] == j
    assert counts["by_status"] == {"open": 5, "acknowledged": 0, "in_progress": 0, "on_hold": 0, "closed": 1}
    assert (counts["open"], counts["mine"], counts["unassigned"], counts["dormant"]) == (5, 2, 2, 4)
    assert counts["by_team"] == [
        {"value": "north", "count": 2},
        {"value": "south", "count": 2},
        {"value": None, "count": 1},
    ]
    assert counts["by_assignee"] == [
        {"value": me, "count": 2},
        {"value": None, "count": 2},
        {"value": colleague, "count": 1},
    ]
    assert counts["by_priority"] == [
        {"value": None, "count": 3},
        {"value": "high", "count": 1},
        {"value": "low", "count": 1},
    ]
    assert counts["by_service_code"] == [{"value": "pothole", "count": 5, "service_name": None}]


async def test_queue_filters_use_the_jurisdiction_s_indexes(migrated_dsn):
    page = "select request_number from projections.agent_requests r"
    for query, index in (
        (AgentRequestFilter(jurisdiction_id="j", teams=("north",)), "agent_requests_team_page"),
        (AgentRequestFilter(jurisdiction_id="j", assignees=("s",)), "agent_requests_assignee_page"),
        (
            AgentRequestFilter(jurisdiction_id="j", dormant_before=datetime(2026, 1, 1, tzinfo=UTC)),
            "agent_requests_open_page",
        ),
    ):
        where, params = filter_sql(query, None)
        plan = await query_plan(
            migrated_dsn, page + where + " order by updated_at desc, request_number limit 50", params
        )
        assert index in plan, plan


async def test_queues_by_sla_state_with_the_sla_store(settings, request_producer):
    """The SLA store's state joins the queues: a filter, each item's `sla`, and the counts."""
    j = new_jurisdiction()
    late, in_time, no_target = new_number(), new_number(), new_number()
    definition = SlaDefined(
        time_zone="UTC",
        opening_hours=[OpeningHours(day=Weekday.monday, opens="08:00", closes="17:00")],
        categories=[
            CategorySla(
                service_code="pothole",
                acknowledge_within_minutes=60,
                resolve_within_minutes=600,
                clock=SlaClock.all_hours,
            )
        ],
        dormant_after_days=14,
    )
    await publish_events(
        settings.kafka_bootstrap,
        settings.topics.jurisdiction_config,
        [request_event(definition, request_id=None, actor=AGENT, source="admin", jurisdiction_id=j)],
    )
    for e in (
        submitted(late, j, minutes=0),  # never acknowledged, open since March: breached and dormant
        submitted(in_time, j, minutes=1),
        closed_with_reason(in_time, j, "fixed", minutes=10),  # acknowledged and resolved in time: met
        submitted(no_target, j, service_code="graffiti", minutes=2),
    ):
        await request_producer.publish(e)
    async with api_client(settings, jurisdiction_id=j) as client:

        async def listed(**params) -> list[str] | None:
            r = await client.get("/api/v1/agent/requests", params={"limit": 500, **params})
            assert r.status_code == 200, r.text
            return sorted(i["request_number"] for i in r.json()["items"])

        async def folded() -> bool:
            return await listed(sla_state=["breached", "met"]) == sorted([late, in_time])

        await eventually(folded, what="the SLA store")
        assert await listed(sla_state="breached") == [late]
        assert await listed(sla_state="met", status="closed") == [in_time]
        assert late in await listed(dormant="true") and in_time not in await listed(dormant="true")
        assert in_time in await listed(dormant="false")
        detail = (await client.get(f"/api/v1/agent/requests/{late}")).json()
        assert (detail["sla"]["state"], detail["sla"]["acknowledge"]["due_at"]) == ("breached", iso(60))
        items = (await client.get("/api/v1/agent/requests")).json()["items"]
        assert {i["request_number"]: (i["sla"] or {}).get("state") for i in items} == {
            late: "breached",
            in_time: "met",
            no_target: None,
        }
        counts = (await client.get("/api/v1/agent/queues")).json()
    assert {k: v for k, v in counts["by_sla_state"].items() if v} == {"breached": 1, "met": 1}
    assert counts["sla_dormant"] >= 1
