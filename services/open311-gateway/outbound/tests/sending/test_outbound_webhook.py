"""Webhooks and category overrides, a back-end down for a while, pause and resume: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import json
import tempfile

import pytest
from civicloop_events import Location, ServiceAreaDefined, ServiceRequestSubmitted
from civicloop_events.payloads import (
    BodyDefined,
    ExternalReferenceAssigned,
    Priority,
    RequestImported,
    RoutingRule,
    RoutingRulesDefined,
    SendFailed,
    SendMethod,
    SentToBackend,
    WebhookConnection,
)
from civicloop_testing.lifecycle import started
from civicloop_testing.polling import eventually
from outbound_harness import (
    WEBHOOK_SECRET_REF,
    OutboundWorld,
    WebhookReceiver,
    roads_by_email,
    service,
)

pytestmark = pytest.mark.integration


def roads(receiver: WebhookReceiver, **overrides: object) -> BodyDefined:
    values: dict[str, object] = {
        "body_id": "roads",
        "name": "Roads & Lights",
        "send_method": SendMethod.email,
        "service_codes": ["POTHOLE", "STREETLIGHT"],
        "category_methods": {"POTHOLE": SendMethod.webhook},
        "email": "roads@springfield.example.gov",
        "priority_email": "roads-urgent@springfield.example.gov",
        "webhook": WebhookConnection(url=receiver.url, secret_ref=WEBHOOK_SECRET_REF),
    }
    values.update(overrides)
    return BodyDefined.model_validate(values)


async def test_one_body_potholes_by_webhook_streetlights_by_email(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    async with started(WebhookReceiver()) as receiver:
        city = await w.new_city(
            "override",
            service("POTHOLE", "Pothole"),
            service("STREETLIGHT", "Streetlight out"),
            roads(receiver),
        )
        pothole = await w.submit(city, "POTHOLE", description="Deep pothole", attributes={"DEPTH": ["20cm"]})
        light = await w.submit(city, "STREETLIGHT")

        async def both() -> bool:
            return pothole in receiver.requests_delivered() and bool(w.smtp.for_request(light))

        await eventually(both, what="the webhook and the email")
        assert receiver.bad_signatures == 0
        [doc] = receiver.delivered
        assert doc["request"]["service_code"] == "POTHOLE" and doc["request"]["service_name"] == "Pothole"
        assert doc["request"]["attributes"] == {"DEPTH": ["20cm"]}
        assert doc["request"]["location"]["lat"] == 39.7817 and doc["body_id"] == "roads"
        assert "contact" not in doc["request"]
        assert doc["_headers"]["x-civicloop-delivery"] == doc["delivery_id"]
        assert doc["_headers"]["x-civicloop-timestamp"].isdigit()
        assert not w.smtp.for_request(pothole), "the pothole went by webhook, not email"
        assert light not in receiver.requests_delivered()

        async def reference() -> bool:
            return bool(await w.events_of(pothole, ExternalReferenceAssigned.event_type))

        await eventually(reference, what="ExternalReferenceAssigned")
        [ref] = await w.events_of(pothole, ExternalReferenceAssigned.event_type)
        assert ref.payload.external_id == "WO-1" and ref.payload.body_id == "roads"
        [sent] = await w.events_of(pothole, SentToBackend.event_type)
        assert sent.payload.method is SendMethod.webhook and sent.payload.destination == receiver.url


@pytest.mark.faults
async def test_a_backend_down_for_a_while_gets_every_item_exactly_once(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    async with started(WebhookReceiver(status=503)) as receiver:
        city = await w.new_city("down", service("POTHOLE", "Pothole"), roads(receiver))
        first = [await w.submit(city, "POTHOLE") for _ in range(3)]

        async def head_retried() -> bool:
            rows = await w.queue_rows(city)
            return len(rows) == 3 and rows[0]["attempts"] >= 3

        await eventually(head_retried, what="the back-end refusing (503) the head three times")
        # A failing head blocks its body: only the head (the lowest seq; the dispatcher's order) has been tried.
        rows = await w.queue_rows(city)
        assert [r["attempts"] for r in rows[1:]] == [0, 0]
        order = [r["request_id"] for r in rows]
        assert sorted(order) == sorted(first)
        head = order[0]
        status = (await w.status_api(city))["roads"]
        assert status["queued"] == 3 and status["retrying"] == 1 and status["sent"] == 0
        assert "HTTP 503" in status["last_error"]

        await receiver.stop()  # now the port is closed: connection refused
        more = [await w.submit(city, "POTHOLE") for _ in range(2)]

        async def failed_while_closed() -> bool:
            failures = [
                e for e in await w.events_of(head, SendFailed.event_type) if "503" not in e.payload.error
            ]
            return len(failures) >= 2

        await eventually(failed_while_closed, what="connection failures while the port is closed")
        failed = await w.events_of(head, SendFailed.event_type)
        assert all(e.payload.retry_at is not None for e in failed)
        assert [e.payload.attempt for e in failed] == list(range(1, len(failed) + 1))

        receiver.status = 200
        await receiver.start()  # back, on the same port

        async def all_delivered() -> bool:
            return len(receiver.delivered) >= 5

        await eventually(all_delivered, what="every item delivered")
        await asyncio.sleep(1.0)  # a duplicate would arrive within a few sender rounds
        order = [r["request_id"] for r in await w.queue_rows(city)]
        assert sorted(order) == sorted(first + more)
        assert receiver.requests_delivered() == order, "in queue order, each exactly once"
        assert receiver.bad_signatures == 0
        rows = await w.queue_rows(city)
        assert [r["state"] for r in rows] == ["sent"] * 5
        for rid in first + more:
            assert len(await w.events_of(rid, SentToBackend.event_type)) == 1
        status = (await w.status_api(city))["roads"]
        assert (status["queued"], status["sent"], status["given_up"]) == (0, 5, 0)


async def test_a_refused_item_is_given_up_and_does_not_block_the_next(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    async with started(WebhookReceiver(status=422)) as receiver:
        city = await w.new_city("refused", service("POTHOLE", "Pothole"), roads(receiver))
        bad = await w.submit(city, "POTHOLE")

        async def given_up() -> bool:
            return [r["state"] for r in await w.queue_rows(city)] == ["failed"]

        await eventually(given_up, what="the item given up")
        [failed] = await w.events_of(bad, SendFailed.event_type)
        assert failed.payload.retry_at is None and "HTTP 422" in failed.payload.error
        receiver.status = 200
        good = await w.submit(city, "POTHOLE")

        async def delivered() -> bool:
            return receiver.requests_delivered() == [good]

        await eventually(delivered, what="the next item")
        assert (await w.status_api(city))["roads"]["given_up"] == 1


async def test_pause_queues_and_resume_sends_in_order_none_lost(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    async with started(WebhookReceiver()) as receiver:
        city = await w.new_city("pause", service("POTHOLE", "Pothole"))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(roads(receiver).model_dump_json())
        code, out = await w.cli("bodies", "define", "-j", city, "--file", f.name, "--wait", "45")
        assert code == 0 and "applied" in out and "not yet" not in out, out
        code, out = await w.cli(
            "bodies",
            "pause",
            "-j",
            city,
            "--body",
            "roads",
            "--reason",
            "upgrade",
            "--wait",
            "45",
        )
        assert code == 0 and "not yet" not in out, out

        ids = [await w.submit(city, "POTHOLE") for _ in range(4)]

        await w.wait_queued(city, 4)
        await asyncio.sleep(0.5)  # several sender rounds: a paused body gets nothing
        assert receiver.delivered == []
        status = (await w.status_api(city))["roads"]
        assert status["paused"] is True and status["paused_reason"] == "upgrade" and status["queued"] == 4
        assert status["oldest_queued_age_s"] is not None and status["oldest_queued_age_s"] >= 0
        code, out = await w.cli("status", "-j", city)
        assert code == 0 and "roads" in out and "yes (upgrade)" in out, out
        code, out = await w.cli("status", "-j", city, "--json")
        assert code == 0 and json.loads(out)[0]["queued"] == 4, out

        code, out = await w.cli("bodies", "resume", "-j", city, "--body", "roads", "--wait", "45")
        assert code == 0, out

        async def delivered() -> bool:
            return len(receiver.delivered) >= 4

        await eventually(delivered, what="the queued items after resume")
        await asyncio.sleep(0.5)
        order = [r["request_id"] for r in await w.queue_rows(city)]  # seq order: the order they were enqueued
        assert sorted(order) == sorted(ids)
        assert receiver.requests_delivered() == order
        status = (await w.status_api(city))["roads"]
        assert (status["paused"], status["queued"], status["sent"]) == (False, 0, 4)


async def test_high_priority_on_a_webhook_body_also_emails_the_priority_address(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    async with started(WebhookReceiver()) as receiver:
        city = await w.new_city(
            "hipri",
            service("POTHOLE", "Pothole"),
            roads(receiver),
            RoutingRulesDefined(
                rules=[RoutingRule(name="gas", text_pattern="gas", team="hazmat", priority=Priority.high)]
            ),
        )
        rid = await w.submit(city, "POTHOLE", description="Smell of GAS near the hole")

        async def both() -> bool:
            return rid in receiver.requests_delivered() and bool(w.smtp.for_request(rid))

        await eventually(both, what="webhook and priority copy")
        [copy] = w.smtp.for_request(rid)
        assert copy.rcpt_tos == ["roads-urgent@springfield.example.gov"]
        assert copy.message["Subject"].startswith("[HIGH PRIORITY]")
        [doc] = receiver.delivered
        assert doc["request"]["priority"] == "high" and doc["request"]["team"] == "hazmat"
        assert len(await w.events_of(rid, SentToBackend.event_type)) == 1  # the copy is not a second send


async def test_area_rules_match_defined_service_areas(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    square = {
        "type": "Polygon",
        "coordinates": [[[-89.7, 39.7], [-89.6, 39.7], [-89.6, 39.8], [-89.7, 39.8], [-89.7, 39.7]]],
    }
    city = await w.new_city(
        "areas",
        service("POTHOLE", "Pothole"),
        ServiceAreaDefined(area_id="downtown", name="Downtown", kind="district", geometry=square),
        roads_by_email(),
        RoutingRulesDefined(rules=[RoutingRule(name="dt", area_ids=["downtown"], team="crew-dt")]),
    )
    inside = await w.submit(city, "POTHOLE", lat=39.75, long=-89.65)
    outside = await w.submit(city, "POTHOLE", lat=39.95, long=-89.65)

    async def routed() -> bool:
        return bool(await w.events_of(inside, "request.routed")) and bool(
            await w.events_of(outside, "request.routed")
        )

    await eventually(routed, what="both routed")
    assert (await w.events_of(inside, "request.routed"))[0].payload.team == "crew-dt"
    assert (await w.events_of(outside, "request.routed"))[0].payload.team is None


async def test_requests_from_a_backend_are_not_sent_back(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    city = await w.new_city("imported", service("POTHOLE", "Pothole"), roads_by_email())
    by_source = await w.submit(city, "POTHOLE", source="backend:roads")
    imported_id = "IMPT-0001"
    for payload in (
        RequestImported(body_id="roads", external_id="WO-77", backend_service_code="PH"),
        ServiceRequestSubmitted(service_code="POTHOLE", location=Location(lat=39.78, long=-89.65)),
    ):
        await w.publish_request(city, payload, request_id=imported_id, source="open311-import")
    ours = await w.submit(city, "POTHOLE")

    async def ours_routed() -> bool:
        return bool(await w.events_of(ours, "request.routed"))

    await eventually(ours_routed, what="the resident's request routed")
    await asyncio.sleep(
        0.5
    )  # other partitions may lag: give the back-end's requests time to be (not) handled
    assert await w.events_of(by_source, "request.routed") == []
    assert await w.events_of(imported_id, "request.routed") == []
    assert [r["request_id"] for r in await w.queue_rows(city)] == [ours]


@pytest.mark.faults
async def test_a_slow_backend_holds_up_only_its_own_body(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    async with started(WebhookReceiver(delay_s=3.0)) as receiver:
        city = await w.new_city(
            "slow",
            service("POTHOLE", "Pothole"),
            service("TREE", "Fallen tree"),
            roads(receiver),
            BodyDefined(
                body_id="parks", name="Parks", service_codes=["TREE"], email="parks@springfield.example.gov"
            ),
        )
        slow = await w.submit(city, "POTHOLE")

        async def in_flight() -> bool:
            return bool(await w.events_of(slow, "request.routed"))

        await eventually(in_flight, what="the slow item routed")
        fast = await w.submit(city, "TREE")

        async def mailed() -> bool:
            return bool(w.smtp.for_request(fast))

        await eventually(mailed, timeout=2.5, what="the other body's email while the slow send is in flight")
        assert receiver.delivered == [], "the slow back-end had not answered yet"

        async def slow_done() -> bool:
            return receiver.requests_delivered() == [slow]

        await eventually(slow_done, what="the slow item delivered")
