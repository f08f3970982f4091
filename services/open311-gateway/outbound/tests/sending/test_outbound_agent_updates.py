"""An agent's reopening and public comments reach the body that has the request by email (a real SMTP server); an
internal note never does; a category change moves the request to the new body and tells the old one."""

from __future__ import annotations

from typing import Any

import pytest
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    BodyDefined,
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    Priority,
    RequestStatus,
    RoutingRule,
    RoutingRulesDefined,
    SendMethod,
    StatusChanged,
    WebhookConnection,
)
from civicloop_events.payloads.base import EventPayload
from civicloop_testing.events import request_event
from civicloop_testing.lifecycle import started
from civicloop_testing.polling import eventually
from outbound_harness import (
    WEBHOOK_SECRET_REF,
    OutboundWorld,
    Received,
    WebhookReceiver,
    roads_by_email,
    service,
)

pytestmark = pytest.mark.integration

AGENT = Actor(kind=ActorKind.agent, id="agent-7")


async def by_agent(w: OutboundWorld, city: str, rid: str, payload: EventPayload) -> Event[Any]:
    event = request_event(payload, request_id=rid, actor=AGENT, source="agent", jurisdiction_id=city)
    await w.request_producer.publish(event)
    return event


def text_of(mail: Received) -> str:
    return mail.message.get_body(("plain",)).get_content()


async def mails_for(w: OutboundWorld, rid: str, count: int) -> list[Received]:
    async def arrived() -> bool:
        return len(w.smtp.for_request(rid)) >= count

    await eventually(arrived, what=f"{count} email(s) for {rid}")
    return w.smtp.for_request(rid)


async def test_reopen_and_public_comments_are_emailed_once_and_internal_notes_never(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    city = await w.new_city("updates", service("POTHOLE", "Pothole"), roads_by_email())
    rid = await w.submit(city, "POTHOLE", description="Deep hole by the school")
    [report] = await mails_for(w, rid, 1)

    await by_agent(
        w, city, rid, CommentAdded(text="Resident sounds upset", visibility=CommentVisibility.internal)
    )
    comment = await by_agent(
        w, city, rid, CommentAdded(text="Crew booked for Monday", visibility=CommentVisibility.public)
    )
    await by_agent(
        w, city, rid, StatusChanged(status=RequestStatus.closed, previous_status=RequestStatus.open)
    )
    await by_agent(
        w,
        city,
        rid,
        StatusChanged(
            status=RequestStatus.open,
            previous_status=RequestStatus.closed,
            reason="not_fixed",
            public_note="The hole is back after the rain",
        ),
    )
    mails = await mails_for(w, rid, 3)
    _, commented, reopened = mails
    assert commented.rcpt_tos == ["roads@springfield.example.gov"]
    assert commented.message["Subject"] == f"Request {rid} new comment: Pothole"
    assert rid in text_of(commented) and "Crew booked for Monday" in text_of(commented)
    assert reopened.message["Subject"] == f"Request {rid} reopened: Pothole"
    assert f"Request {rid} has been reopened." in text_of(reopened)
    assert "The hole is back after the rain" in text_of(reopened)
    assert commented.message["Message-ID"] != reopened.message["Message-ID"] != report.message["Message-ID"]
    for mail in mails:
        assert "Resident sounds upset" not in mail.message.as_string()

    # The same comment delivered again changes nothing; a later comment shows the queue has moved past it.
    await w.request_producer.publish(comment)
    await by_agent(w, city, rid, CommentAdded(text="Monday it is", visibility=CommentVisibility.public))
    mails = await mails_for(w, rid, 4)
    assert [m.message["Subject"].split(":")[0] for m in mails[1:]] == [
        f"Request {rid} new comment",
        f"Request {rid} reopened",
        f"Request {rid} new comment",
    ]

    async def recorded() -> bool:  # the mail arrives just before the row's transaction commits
        rows = [r for r in await w.queue_rows(city) if r["purpose"] == "update"]
        return [r["state"] for r in rows] == ["sent"] * 3

    await eventually(recorded, what="three updates recorded as sent")
    async with w.pool.connection() as conn:
        cur = await conn.execute(
            "select answer from outbound.outbound_queue where jurisdiction_id = %s and purpose = 'update'",
            (city,),
        )
        assert all(
            answer and "OK" in answer for (answer,) in await cur.fetchall()
        )  # what the SMTP server said


async def test_a_category_change_moves_the_request_to_the_new_body_and_tells_the_old_one(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    parks = BodyDefined(
        body_id="parks",
        name="Parks Department",
        service_codes=["TREE"],
        email="parks@springfield.example.gov",
    )
    city = await w.new_city(
        "moves", service("POTHOLE", "Pothole"), service("TREE", "Fallen tree"), roads_by_email(), parks
    )
    rid = await w.submit(city, "POTHOLE", description="A branch across the road")
    await mails_for(w, rid, 1)

    await by_agent(
        w,
        city,
        rid,
        CategoryChanged(service_code="TREE", previous_service_code="POTHOLE", note="staff only: wrong queue"),
    )
    await by_agent(
        w, city, rid, CommentAdded(text="Parks crew on the way", visibility=CommentVisibility.public)
    )
    mails = await mails_for(w, rid, 4)
    to_roads = [m for m in mails if m.rcpt_tos == ["roads@springfield.example.gov"]]
    to_parks = [m for m in mails if m.rcpt_tos == ["parks@springfield.example.gov"]]
    assert [m.message["Subject"] for m in to_roads] == [
        f"Request {rid}: Pothole",
        f"Request {rid} moved to Parks Department: Pothole",
    ]
    assert "no further action is needed here" in text_of(to_roads[1])
    assert [m.message["Subject"] for m in to_parks] == [
        f"Request {rid}: Fallen tree",
        f"Request {rid} new comment: Fallen tree",
    ]
    assert "A branch across the road" in text_of(to_parks[0])
    for mail in mails:
        assert "staff only" not in mail.message.as_string()
    routed = await w.events_of(rid, "request.routed")
    assert [e.payload.body_id for e in routed] == ["roads", "parks"]

    # Moved back: Roads gets it again, Parks is told, and the next comment goes to Roads.
    await by_agent(w, city, rid, CategoryChanged(service_code="POTHOLE", previous_service_code="TREE"))
    await by_agent(w, city, rid, CommentAdded(text="Roads after all", visibility=CommentVisibility.public))
    mails = await mails_for(w, rid, 7)
    later = mails[4:]  # in order per body; two bodies' mails may interleave
    assert [m.message["Subject"] for m in later if m.rcpt_tos == ["roads@springfield.example.gov"]] == [
        f"Request {rid}: Pothole",
        f"Request {rid} new comment: Pothole",
    ]
    assert [m.message["Subject"] for m in later if m.rcpt_tos == ["parks@springfield.example.gov"]] == [
        f"Request {rid} moved to Roads: Fallen tree"
    ]


async def test_a_move_to_a_webhook_body_with_high_priority_also_copies_its_priority_address(
    outbound_world: OutboundWorld,
) -> None:
    """Routing on the new category applies its rules as for a submission; a webhook body takes no updates, so a
    later comment goes nowhere."""
    w = outbound_world
    async with started(WebhookReceiver()) as receiver:
        gas = BodyDefined(
            body_id="gas",
            name="Gas Safety",
            send_method=SendMethod.webhook,
            service_codes=["GAS"],
            priority_email="gas-urgent@springfield.example.gov",
            webhook=WebhookConnection(url=receiver.url, secret_ref=WEBHOOK_SECRET_REF),
        )
        city = await w.new_city(
            "tohook",
            service("POTHOLE", "Pothole"),
            service("GAS", "Gas smell"),
            roads_by_email(),
            gas,
            RoutingRulesDefined(
                rules=[RoutingRule(name="gas", service_codes=["GAS"], priority=Priority.high)]
            ),
        )
        rid = await w.submit(city, "POTHOLE", description="A smell of gas by the hole")
        await mails_for(w, rid, 1)
        await by_agent(w, city, rid, CategoryChanged(service_code="GAS", previous_service_code="POTHOLE"))

        async def moved() -> bool:
            return rid in receiver.requests_delivered() and len(w.smtp.for_request(rid)) == 3

        await eventually(moved, what="the webhook, the priority copy and the notice")
        [doc] = receiver.delivered
        assert doc["request"]["priority"] == "high" and doc["request"]["service_code"] == "GAS"
        subjects = {m.rcpt_tos[0]: m.message["Subject"] for m in w.smtp.for_request(rid)[1:]}
        assert subjects == {
            "gas-urgent@springfield.example.gov": f"[HIGH PRIORITY] Request {rid}: Gas smell",
            "roads@springfield.example.gov": f"Request {rid} moved to Gas Safety: Pothole",
        }

        await by_agent(
            w, city, rid, CommentAdded(text="Engineer on site", visibility=CommentVisibility.public)
        )
        await by_agent(w, city, rid, CategoryChanged(service_code="POTHOLE", previous_service_code="GAS"))
        await mails_for(
            w, rid, 4
        )  # moved back: Roads gets the report again, after the comment was dispatched
        assert len(receiver.delivered) == 1
        assert not [r for r in await w.queue_rows(city) if r["purpose"] == "update" and r["body_id"] == "gas"]
