"""Routing, sending to the body, back-end references and imports, through the real broker into the agents' API."""

from __future__ import annotations

import pytest
from civicloop_events.payloads import (
    ExternalReferenceAssigned,
    RequestImported,
    Routed,
    SendFailed,
    SentToBackend,
)
from civicloop_projections.adapters.agent_views import filter_sql
from civicloop_projections.domain.queries import AgentRequestFilter
from civicloop_testing.polling import eventually
from projection_events import at, new_jurisdiction, new_number, outbound, submitted
from projection_harness import api_client, numbers_of, query_plan

pytestmark = pytest.mark.integration


async def test_routing_and_delivery_are_in_the_agent_view_and_its_filters(
    settings, request_producer, migrated_dsn
):
    j = new_jurisdiction()
    sent_one, imported_one, unrouted = new_number(), new_number(), new_number()
    events = [
        submitted(sent_one, j, minutes=0),
        outbound(
            sent_one,
            j,
            Routed(
                body_id="streets",
                team="north crew",
                priority="high",
                analysis_codes=["PH-1"],
                rules=["potholes"],
            ),
            minutes=1,
        ),
        outbound(
            sent_one,
            j,
            SendFailed(body_id="streets", method="open311", attempt=1, error="503", retry_at=at(10)),
            minutes=2,
        ),
        outbound(
            sent_one,
            j,
            SentToBackend(
                body_id="streets",
                method="open311",
                attempt=2,
                destination="https://streets.example/open311/v2",
            ),
            minutes=10,
        ),
        outbound(
            sent_one, j, ExternalReferenceAssigned(body_id="streets", external_id="SR-1001"), minutes=11
        ),
        # A back-end's own report comes in: the import precedes the submission it brings.
        outbound(
            imported_one,
            j,
            RequestImported(body_id="parks", external_id="WO-9", backend_service_code="TREE"),
            minutes=0,
        ),
        submitted(imported_one, j, minutes=0),
        outbound(imported_one, j, Routed(body_id="parks", priority="low"), minutes=1),
        outbound(
            imported_one,
            j,
            SendFailed(body_id="parks", method="email", attempt=1, error="mailbox full", retry_at=None),
            minutes=2,
        ),
        submitted(unrouted, j, minutes=3),
    ]
    async with api_client(settings, jurisdiction_id=j) as client:
        for e in events:
            await request_producer.publish(e)

        async def all_applied() -> bool:
            # The three requests may sit on different partitions: wait for each one's events.
            counts = {
                item["request_number"]: item["event_count"]
                for item in (
                    await client.get("/api/v1/agent/requests", params={"jurisdiction_id": j})
                ).json()["items"]
            }
            return counts == {sent_one: 5, imported_one: 3, unrouted: 1}

        await eventually(all_applied, what="the requests' events")

        body = (await client.get(f"/api/v1/agent/requests/{sent_one}")).json()
        assert (body["body_id"], body["team"], body["priority"], body["analysis_codes"]) == (
            "streets",
            "north crew",
            "high",
            ["PH-1"],
        )
        assert body["delivery"] == {"state": "sent", "attempts": 2, "last_error": None, "retry_at": None}
        assert body["external_references"] == [{"body_id": "streets", "external_id": "SR-1001"}]
        assert (body["imported_from"], body["event_count"]) == (None, 5)
        assert [h["type"] for h in body["history"]][1:] == [
            "request.routed",
            SendFailed.event_type,
            SentToBackend.event_type,
            ExternalReferenceAssigned.event_type,
        ]

        body = (await client.get(f"/api/v1/agent/requests/{imported_one}")).json()
        assert body["imported_from"] == {"body_id": "parks", "external_id": "WO-9"}
        assert body["delivery"] == {
            "state": "given_up",
            "attempts": 1,
            "last_error": "mailbox full",
            "retry_at": None,
        }
        assert body["history"][0]["type"] == RequestImported.event_type

        body = (await client.get(f"/api/v1/agent/requests/{unrouted}")).json()
        assert (body["body_id"], body["priority"], body["delivery"], body["external_references"]) == (
            None,
            None,
            None,
            [],
        )

        assert await numbers_of(client, jurisdiction_id=j, body_id="streets") == [sent_one]
        assert await numbers_of(client, jurisdiction_id=j, priority="high") == [sent_one]
        assert await numbers_of(client, jurisdiction_id=j, priority=["low", "high"]) == sorted(
            [sent_one, imported_one]
        )
        assert await numbers_of(client, jurisdiction_id=j, delivery_state="given_up") == [imported_one]
        assert await numbers_of(client, jurisdiction_id=j, delivery_state=["sent", "failed"]) == [sent_one]
        assert await numbers_of(client, jurisdiction_id=j, body_id="parks", delivery_state="sent") == []
        r = await client.get(
            "/api/v1/agent/requests", params={"delivery_state": "lost", "priority": "urgent"}
        )
        assert r.status_code == 422
        assert sorted(e["loc"][1] for e in r.json()["detail"]) == ["delivery_state", "priority"]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (AgentRequestFilter(body_id="streets"), "agent_requests_body_id_page"),
        (AgentRequestFilter(priorities=("high",)), "agent_requests_priority_page"),
        (AgentRequestFilter(delivery_states=("failed", "given_up")), "agent_requests_delivery_state_page"),
    ],
)
async def test_the_new_filters_are_served_by_their_indexes(migrated_dsn, query, index):
    where, params = filter_sql(query, None)
    page = f"select request_number from projections.agent_requests{where}"
    plan = await query_plan(migrated_dsn, page + " order by updated_at desc, request_number limit 50", params)
    assert index in plan, plan
