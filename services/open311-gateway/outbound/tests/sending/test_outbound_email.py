"""Level 1: a report emailed to the responsible body through a real SMTP server; the events on the log."""

from __future__ import annotations

import pytest
from civicloop_events.payloads import (
    BodyDefined,
    Priority,
    RoutingRule,
    RoutingRulesDefined,
    SendMethod,
    SentToBackend,
)
from civicloop_testing.polling import eventually
from outbound_harness import OutboundWorld, roads_by_email, service

pytestmark = pytest.mark.integration


async def test_a_report_is_emailed_with_all_details_and_the_events_say_so(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    city = await w.new_city(
        "email",
        service("STREETLIGHT", "Streetlight out"),
        BodyDefined(
            body_id="lights",
            name="Street Lighting",
            service_codes=["STREETLIGHT"],
            email="lights@springfield.example.gov",
        ),
    )
    rid = await w.submit(
        city,
        "STREETLIGHT",
        description="Lamp out at the corner of 5th & Main",
        attributes={"POLE_ID": ["SL-10442"], "HAZARDS": ["wires", "glass"]},
    )

    async def mailed() -> bool:
        return bool(w.smtp.for_request(rid))

    await eventually(mailed, what="the email to the body")
    [mail] = w.smtp.for_request(rid)
    assert mail.rcpt_tos == ["lights@springfield.example.gov"]
    assert mail.mail_from == "311@springfield.example.gov"
    msg = mail.message
    assert msg["Subject"] == f"Request {rid}: Streetlight out"
    assert msg["From"] == "CivicLoop Springfield <311@springfield.example.gov>"
    assert msg["Message-ID"] and msg["Date"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    link = f"https://311.springfield.example.gov/open311/v2/requests/{rid}.json?jurisdiction_id={city}"
    for needle in (
        rid,
        "Streetlight out (STREETLIGHT)",
        "Lamp out at the corner of 5th & Main",
        "1 Main St",
        "POLE_ID: SL-10442",
        "HAZARDS: wires, glass",
        "39.7817, -89.6501",
        "https://www.openstreetmap.org/?mlat=39.7817&mlon=-89.6501",
        "https://img.example/p/1.jpg",
        link,
    ):
        assert needle in text, needle
    assert "5th &amp; Main" in html and f'href="{link}"' in html
    assert "Reported by" not in text  # outbound_include_contact is off

    async def sent_event() -> bool:
        return bool(await w.events_of(rid, SentToBackend.event_type))

    await eventually(sent_event, what="SentToBackend")
    events = await w.events_of(rid)
    submitted = events[0]
    routed = [e for e in events if e.type == "request.routed"]
    sent = [e for e in events if e.type == SentToBackend.event_type]
    assert len(routed) == 1 and routed[0].payload.body_id == "lights"
    assert routed[0].causation_id == submitted.event_id
    assert len(sent) == 1
    assert sent[0].payload.method is SendMethod.email and sent[0].payload.attempt == 1
    assert sent[0].payload.destination == "lights@springfield.example.gov"
    assert sent[0].causation_id == submitted.event_id and sent[0].correlation_id == submitted.event_id

    async def marked_sent() -> bool:  # the outcome events are published before the row's transaction commits
        return [r["state"] for r in await w.queue_rows(city)] == ["sent"]

    await eventually(marked_sent, what="the row marked sent")
    [row] = await w.queue_rows(city)
    assert (row["state"], row["attempts"], row["method"]) == ("sent", 1, "email")


async def test_a_high_priority_rule_sets_team_and_codes_and_copies_the_priority_address(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    city = await w.new_city(
        "priority",
        service("POTHOLE", "Pothole"),
        roads_by_email(priority_email="roads-urgent@springfield.example.gov"),
        RoutingRulesDefined(
            rules=[
                RoutingRule(
                    name="potholes", service_codes=["POTHOLE"], team="crew-north", analysis_codes=["RD-1"]
                ),
                RoutingRule(
                    name="sinkhole",
                    text_pattern=r"sink\s*hole",
                    priority=Priority.high,
                    team="crew-urgent",
                    analysis_codes=["HZ-9"],
                ),
                RoutingRule(name="downtown-only", area_ids=["downtown"], team="crew-downtown"),
            ]
        ),
    )
    urgent = await w.submit(city, "POTHOLE", description="A SINKHOLE opened in the lane")
    normal = await w.submit(city, "POTHOLE", description="A small pothole")

    async def both_mailed() -> bool:
        return bool(w.smtp.for_request(urgent)) and bool(w.smtp.for_request(normal))

    await eventually(both_mailed, what="both emails")
    [u] = w.smtp.for_request(urgent)
    assert sorted(u.rcpt_tos) == ["roads-urgent@springfield.example.gov", "roads@springfield.example.gov"]
    assert u.message["Cc"] == "roads-urgent@springfield.example.gov"
    assert u.message["Subject"].startswith("[HIGH PRIORITY] ")
    text = u.message.get_body(("plain",)).get_content()
    assert "Team:           crew-urgent" in text and "RD-1, HZ-9" in text and "Priority:       high" in text
    [n] = w.smtp.for_request(normal)
    assert n.rcpt_tos == ["roads@springfield.example.gov"] and n.message["Cc"] is None
    assert "crew-north" in n.message.get_body(("plain",)).get_content()

    [routed] = await w.events_of(urgent, "request.routed")
    assert routed.payload.priority is Priority.high and routed.payload.team == "crew-urgent"
    assert routed.payload.analysis_codes == ["RD-1", "HZ-9"]
    assert routed.payload.rules == ["potholes", "sinkhole"]  # the area rule skipped: the area is unknown
    [routed_normal] = await w.events_of(normal, "request.routed")
    assert routed_normal.payload.priority is Priority.normal and routed_normal.payload.team == "crew-north"
