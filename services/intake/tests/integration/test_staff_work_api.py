"""An agent works a request through intake's API, on the real broker and PostgreSQL: acknowledge, assign, comment
(public and internal), schedule a visit, close with a reason, reopen. Each step is one event on the log whose actor is
the token's staff id; the resident's track shows the public parts only."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events import ServiceDefined, decode_event
from civicloop_events.producer import Position
from civicloop_intake.adapters.postgres_catalogue import CATALOGUE_CONSUMER
from civicloop_intake.adapters.postgres_staff_work import WORKED_CONSUMER
from civicloop_testing.consumers import assert_applied
from civicloop_testing.staff_tokens import staff_headers

pytestmark = pytest.mark.integration

AGENT_ID = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000a077")
AGENT = staff_headers(AGENT_ID)
PHONE = "(202) 555-0177"


async def act(intake, number: str, path: str, body: dict, *, headers=None, key: str | None = None):
    headers = {**(headers or AGENT), **({"Idempotency-Key": key} if key else {})}
    return await intake.client.post(f"/api/v1/agent/requests/{number}/{path}", json=body, headers=headers)


async def events_of(intake, number: str):
    return [e for e in (decode_event(r.value) for r in await intake.records()) if e.request_id == number]


async def track(intake, number: str, position: str):
    r = await intake.client.post(
        "/api/v1/track", json={"number": number, "phone": PHONE}, headers={"CivicLoop-Position": position}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_agent_works_a_request_from_acknowledgement_to_reopening(intake):
    await intake.staff(teams={"streets": True}, members={AGENT_ID: (("agent",), ("streets",))})
    number = await intake.submit("Deep hole", address="12 Main St", contact={"phone": PHONE})
    visit_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    steps = [
        ("acknowledge", {"template_id": "ack-default"}),
        ("assign", {"team_id": "streets", "staff_id": str(AGENT_ID), "note": "crew B covers it"}),
        ("comments", {"text": "We will send a crew this week.", "visibility": "public"}),
        ("comments", {"text": "Resident called twice, sounded upset", "visibility": "internal"}),
        ("visits", {"starts_at": visit_at.isoformat(), "duration_minutes": 120}),
        ("close", {"reason": "fixed", "public_note": "Filled and sealed."}),
        ("reopen", {"reason": "recurred", "public_note": "Reported again: we are looking."}),
    ]
    answers = []
    for path, body in steps:
        r = await act(intake, number, path, body)
        assert r.status_code == 201, (path, r.text)
        answers.append(r.json())

    on_log = (await events_of(intake, number))[1:]  # after the submission
    assert [e.type for e in on_log] == [
        "request.status.changed",
        "request.assigned",
        "request.comment.added",
        "request.comment.added",
        "request.visit.scheduled",
        "request.status.changed",
        "request.status.changed",
    ]
    assert [str(e.event_id) for e in on_log] == [a["event_id"] for a in answers]
    assert {(e.actor.kind.value, e.actor.id, e.source) for e in on_log} == {("agent", str(AGENT_ID), "agent")}
    ack, assigned, _, _, visit, closed, reopened = (e.payload for e in on_log)
    assert ack.status == "acknowledged" and "received report " + number in ack.public_note
    assert (assigned.team_id, assigned.staff_id) == ("streets", str(AGENT_ID))
    assert (visit.starts_at, visit.duration_minutes, visit.address) == (visit_at, 120, "12 Main St")
    assert (closed.status, closed.reason, closed.previous_status) == ("closed", "fixed", "acknowledged")
    assert (reopened.status, reopened.reason, reopened.previous_status) == ("open", "recurred", "closed")

    # The resident's view: status changes with their public notes and the public comment, never the internal note.
    view = await track(intake, number, r.headers["CivicLoop-Position"])
    assert view["status"] == "open"
    texts = [(h["kind"], h.get("status"), h.get("note") or h.get("text")) for h in view["history"]]
    assert ("comment", None, "We will send a crew this week.") in texts
    assert ("status", "closed", "Filled and sealed.") in texts
    assert ("status", "open", "Reported again: we are looking.") in texts
    [planned] = [h for h in view["history"] if h["kind"] == "visit"]
    assert (planned["text"], planned["duration_minutes"], planned["address"]) == (
        "Visit planned",
        120,
        "12 Main St",
    )
    assert datetime.fromisoformat(planned["starts_at"]) == visit_at
    assert "upset" not in str(view) and "crew B" not in str(view)


async def test_the_state_refuses_what_does_not_fit_and_a_retry_repeats_nothing(intake):
    number = await intake.submit("Broken sign", address="3 Oak Ave", contact={"phone": PHONE})
    first = await act(
        intake, number, "close", {"reason": "not_ours", "referred_to": "State DOT"}, key="close-1"
    )
    again = await act(
        intake, number, "close", {"reason": "not_ours", "referred_to": "State DOT"}, key="close-1"
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    reused = await act(intake, number, "close", {"reason": "fixed"}, key="close-1")
    assert (reused.status_code, reused.json()["error"]) == (409, "idempotency_key_reused")

    for path, body, status, error in [
        ("acknowledge", {}, 409, "closed"),
        ("close", {"reason": "fixed"}, 409, "closed"),
        ("reopen", {"reason": "fixed"}, 422, "unknown_reason"),
        ("visits/v-nope/cancel", {}, 404, "unknown_visit"),
    ]:
        r = await act(intake, number, path, body)
        assert (r.status_code, r.json()["error"]) == (status, error), (path, r.text)
    closes = [e for e in await events_of(intake, number) if e.type == "request.status.changed"]
    assert [(e.payload.reason, e.payload.referred_to) for e in closes] == [("not_ours", "State DOT")]

    unknown = await act(intake, "ZZZZ-ZZZZ", "acknowledge", {})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_request")
    elsewhere = await act(
        intake,
        number,
        "reopen",
        {"reason": "recurred"},
        headers=staff_headers(AGENT_ID, jurisdiction_id="other"),
    )
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (404, "unknown_request")


async def test_only_agents_and_supervisors_with_a_valid_token_act(intake):
    number = await intake.submit("Graffiti", address="5 Elm St", contact={"phone": PHONE})
    for headers, status in [
        ({}, 401),
        ({"CivicLoop-Agent": "agent-7"}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        (staff_headers(None, "auditor"), 403),
        (staff_headers(None, "admin"), 403),
    ]:
        r = await intake.client.post(f"/api/v1/agent/requests/{number}/acknowledge", json={}, headers=headers)
        assert r.status_code == status, (headers, r.text)
    ok = await act(intake, number, "acknowledge", {}, headers=staff_headers(None, "supervisor"))
    assert ok.status_code == 201, ok.text
    assert [e.type for e in await events_of(intake, number)] == [
        "request.submitted",
        "request.status.changed",
    ]


async def test_visits_move_and_are_cancelled_and_bulk_acts_on_each_request(intake):
    first = await intake.submit("Hole one", address="7 Pine St", contact={"phone": PHONE})
    second = await intake.submit("Hole two", address="9 Pine St", contact={"phone": PHONE})
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    scheduled = await act(intake, first, "visits", {"starts_at": start.isoformat(), "duration_minutes": 60})
    assert scheduled.status_code == 201, scheduled.text
    [visit] = [e for e in await events_of(intake, first) if e.type == "request.visit.scheduled"]
    visit_id = visit.payload.visit_id
    later = start + timedelta(days=1)
    moved = await act(intake, first, f"visits/{visit_id}/reschedule", {"starts_at": later.isoformat()})
    cancelled = await act(intake, first, f"visits/{visit_id}/cancel", {"public_note": "Filled earlier"})
    twice = await act(intake, first, f"visits/{visit_id}/cancel", {})
    assert (moved.status_code, cancelled.status_code) == (201, 201), (moved.text, cancelled.text)
    assert (twice.status_code, twice.json()["error"]) == (404, "unknown_visit")

    r = await intake.client.post(
        "/api/v1/agent/requests/bulk",
        json={
            "request_numbers": [first, second, "ZZZZ-ZZZZ"],
            "command": {"action": "change_priority", "priority": "high"},
        },
        headers={**AGENT, "Idempotency-Key": "bulk-1"},
    )
    assert r.status_code == 200, r.text
    assert [(i["request_number"], i["outcome"], i["error"]) for i in r.json()["results"]] == [
        (first, "done", None),
        (second, "done", None),
        ("ZZZZ-ZZZZ", "refused", "unknown_request"),
    ]
    for number in (first, second):
        changes = [e for e in await events_of(intake, number) if e.type == "request.priority.changed"]
        assert [(c.payload.priority, c.actor.id) for c in changes] == [("high", str(AGENT_ID))]


async def test_an_assignment_names_only_a_team_and_an_active_member_of_the_jurisdiction(intake):
    member, gone, auditor, elsewhere = (uuid.uuid4() for _ in range(4))
    await intake.staff(
        teams={"roads": True, "retired-crew": False},
        members={
            member: (("agent",), ("roads",)),
            gone: (("agent",), ("roads",)),
            auditor: (("auditor",), ()),
        },
        disabled=(gone,),
    )
    await intake.staff(members={elsewhere: (("agent",), ())}, jurisdiction_id="springfield")
    number = await intake.submit("Faded lines", address="8 Elm St", contact={"phone": PHONE})
    for body, status, error in [
        ({"team_id": "pavements"}, 422, "unknown_team"),
        ({"team_id": "retired-crew"}, 422, "unknown_team"),
        ({"staff_id": str(uuid.uuid4())}, 422, "unknown_staff"),
        ({"staff_id": "agent-7"}, 422, "unknown_staff"),
        ({"staff_id": str(elsewhere)}, 422, "unknown_staff"),  # another jurisdiction's
        ({"staff_id": str(gone)}, 409, "staff_disabled"),
        ({"staff_id": str(auditor)}, 409, "staff_cannot_work"),
    ]:
        r = await act(intake, number, "assign", body)
        assert (r.status_code, r.json()["error"]) == (status, error), (body, r.text)
    await intake.staff(teams={"lights": True})
    r = await act(intake, number, "assign", {"team_id": "lights", "staff_id": str(member)})
    assert (r.status_code, r.json()["error"]) == (409, "staff_not_in_team"), r.text
    assert not [e for e in await events_of(intake, number) if e.type == "request.assigned"]

    r = await act(intake, number, "assign", {"team_id": "roads", "staff_id": str(member)})
    assert r.status_code == 201, r.text
    [assigned] = [e for e in await events_of(intake, number) if e.type == "request.assigned"]
    assert (assigned.payload.team_id, assigned.payload.staff_id) == ("roads", str(member))


async def test_the_state_is_folded_once_from_the_log(intake):
    await intake.staff(teams={"lights": True})
    number = await intake.submit("Lamp out", address="1 Birch Rd", contact={"phone": PHONE})
    r = await act(intake, number, "assign", {"team_id": "lights"})
    assert r.status_code == 201, r.text
    partition, offset = (int(x) for x in r.headers["CivicLoop-Position"].split(":"))
    await assert_applied(
        intake.pool,
        schema="intake",
        consumer=intake.topics.prefix + WORKED_CONSUMER,
        positions=[Position(intake.topics.request_events, partition, offset)],
    )
    async with intake.pool.connection() as conn:
        row = await (
            await conn.execute(
                "select w.team_id, w.status, s.folded from intake.worked_requests w"
                " join intake.staff_work s on s.request_number = w.request_number where w.request_number = %s",
                (number,),
            )
        ).fetchall()
    assert row == [("lights", "open", True)]


async def test_concurrent_commands_close_a_request_once_and_never_starve_the_pool(intake):
    numbers = [
        await intake.submit(f"Hole {i}", address="2 Ash St", contact={"phone": PHONE}) for i in range(12)
    ]
    target = numbers[0]
    closes = [
        act(intake, target, "close", {"reason": reason})
        for reason in ("fixed", "duplicate", "no_action_needed")
    ]
    others = [
        act(intake, n, "acknowledge", {}) for n in numbers[1:]
    ]  # more at once than the pool has connections
    answers = await asyncio.gather(*closes, *others)
    assert sorted(a.status_code for a in answers[:3]) == [201, 409, 409]
    assert [a.status_code for a in answers[3:]] == [201] * 11
    closed = [e for e in await events_of(intake, target) if e.type == "request.status.changed"]
    assert len(closed) == 1


async def test_only_a_verified_agent_submits_as_an_agent(intake):
    body = {"service_code": "pothole", "description": "Reported by phone", "address_string": "4 Elm St"}
    for headers, status in [
        ({}, 401),
        ({"CivicLoop-Agent": "agent-7"}, 401),
        (staff_headers(None, "auditor"), 403),
        (staff_headers(AGENT_ID, jurisdiction_id="other"), 403),
    ]:
        r = await intake.client.post("/api/v1/requests", json={**body, "source": "agent"}, headers=headers)
        assert r.status_code == status, (headers, r.text)
    r = await intake.client.post("/api/v1/requests", json={**body, "source": "agent"}, headers=AGENT)
    assert r.status_code == 201, r.text
    [submitted] = await events_of(intake, r.json()["request_number"])
    assert (submitted.actor.kind.value, submitted.actor.id, submitted.source) == (
        "agent",
        str(AGENT_ID),
        "agent",
    )
    resident = await intake.client.post("/api/v1/requests", json=body)  # a resident needs no token
    assert resident.status_code == 201, resident.text


async def test_a_request_moves_to_an_offered_category_and_track_follows(intake):
    sidewalk = ServiceDefined(service_code="sidewalk", service_name="Sidewalk")
    position = await intake.publish(sidewalk, request_id=None, topic=intake.topics.jurisdiction_config)
    await assert_applied(
        intake.pool, schema="intake", consumer=intake.topics.prefix + CATALOGUE_CONSUMER, positions=[position]
    )
    number = await intake.submit("Hole in the sidewalk", address="8 Elm St", contact={"phone": PHONE})
    withdrawn = await act(intake, number, "category", {"service_code": "graffiti"})
    assert (withdrawn.status_code, withdrawn.json()["error"]) == (422, "unknown_category")
    moved = await act(
        intake, number, "category", {"service_code": "sidewalk", "public_note": "Sidewalk crews fix this"}
    )
    assert moved.status_code == 201, moved.text
    view = await track(intake, number, moved.headers["CivicLoop-Position"])
    assert (view["service_code"], view["service_name"]) == ("sidewalk", "Sidewalk")
    assert [h["text"] for h in view["history"]] == ["Sidewalk crews fix this"]
