"""End to end through the real broker and PostGIS: an agent works a request through intake's commands, and each step
reaches everyone who should see it:
- the agent view (public-projections), with the agent as its actor, in the queues and their counts;
- the resident's view (intake's track), public parts only;
- Open311 (`GET requests`, `servicerequestupdates`), public parts only;
- the department the request was sent to (an email body, through a real SMTP server): the report, then the public
  comment and the reopening, never the internal note.

The four services run in this process as their real ASGI apps (lifespans, consumers, pools), wired only through Kafka.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from civicloop_events import PersonalData, ServiceDefined
from civicloop_events.payloads import BodyDefined, SendMethod
from civicloop_events.payloads.staff import StaffCreated, TeamDefined
from civicloop_events.personal_data import new_key, seal
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_gateway.entrypoints.http import create_app as create_gateway
from civicloop_gateway.settings import GatewaySettings
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_outbound import database as outbound_database
from civicloop_outbound.entrypoints.http import create_app as create_outbound
from civicloop_outbound.settings import OutboundSettings
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from e2e_world import migrated_intake, migrated_projections, publish_configuration, serving, shared_settings

pytestmark = pytest.mark.integration

AGENT_ID = uuid.uuid4()
PHONE = "+1 213 555 0188"
ROADS = "roads@demo.example.gov"
INTERNAL = "Second call from this resident"


async def test_each_step_of_an_agent_s_work_reaches_the_agent_view_the_resident_open311_and_the_department(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    projection_settings = migrated_projections(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    gateway_settings = GatewaySettings(
        env="test",
        default_jurisdiction_id="demo",
        **shared_settings(fresh_database_dsn, fresh_topics, kafka_bootstrap),
    )
    migrate_gateway(gateway_settings.sqlalchemy_url)
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        BodyDefined(
            body_id="roads",
            name="Roads",
            send_method=SendMethod.email,
            service_codes=["pothole"],
            email=ROADS,
        ),
        TeamDefined(team_id="streets", name="Streets"),
        StaffCreated(
            staff_id=AGENT_ID,
            contact=seal(PersonalData(), resident_id=AGENT_ID, key=new_key()),
            roles=["agent"],
            teams=["streets"],
        ),
    )
    agent_token = staff_headers(AGENT_ID)
    with smtp_inbox() as smtp:
        outbound_settings = run_settings(
            OutboundSettings,
            fresh_database_dsn,
            kafka_bootstrap,
            fresh_topics,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            mail_from="CivicLoop Demo <311@demo.example.gov>",
            outbound_methods={SendMethod.email},
            outbound_poll_interval_s=0.1,
        )
        outbound_database.migrate(outbound_settings.sqlalchemy_url)
        async with serving(
            (create_intake(intake_settings, staff_verifier=verifier_for_tests()), "http://intake"),
            (
                create_projections(projection_settings, staff_verifier=verifier_for_tests()),
                "http://projections",
            ),
            (create_gateway(gateway_settings), "http://gw/open311/v2"),
            (create_outbound(outbound_settings, staff_verifier=verifier_for_tests()), "http://outbound"),
        ) as (intake, view, open311, _):
            view.headers.update(agent_token)
            await _work_and_check(intake, view, open311, smtp, agent_token)


async def _work_and_check(
    intake: httpx.AsyncClient,
    view: httpx.AsyncClient,
    open311: httpx.AsyncClient,
    smtp: SmtpInbox,
    agent_token: dict[str, str],
) -> None:
    async def catalogued() -> httpx.Response | None:
        body = {
            "service_code": "pothole",
            "description": "Deep hole",
            "address_string": "12 Main St",
            "contact": {"phone": PHONE},
        }
        r = await intake.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "e2e-work-1"})
        return None if r.status_code == 422 else r

    r = await eventually(catalogued, timeout=30, what="intake to learn the catalogue", interval=0.1)
    assert r.status_code == 201, r.text
    number = r.json()["request_number"]

    async def act(path: str, body: dict) -> httpx.Response:
        return await intake.post(f"/api/v1/agent/requests/{number}/{path}", json=body, headers=agent_token)

    async def assigned() -> httpx.Response | None:  # intake learns the team and the agent from the log
        r = await act("assign", {"team_id": "streets", "staff_id": str(AGENT_ID)})
        return None if r.status_code == 422 else r

    visit_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    r = await act("acknowledge", {"public_note": "We have it."})
    assert r.status_code == 201, r.text
    r = await eventually(assigned, timeout=30, what="intake to learn the team and the agent", interval=0.1)
    assert r.status_code == 201, r.text
    for path, body in (
        ("comments", {"text": "A crew goes this week.", "visibility": "public"}),
        ("comments", {"text": INTERNAL, "visibility": "internal"}),
        ("visits", {"starts_at": visit_at.isoformat(), "duration_minutes": 120}),
        ("close", {"reason": "fixed", "public_note": "Filled and sealed."}),
        ("reopen", {"reason": "recurred", "public_note": "Reported again."}),
    ):
        r = await act(path, body)
        assert r.status_code == 201, (path, r.text)
    position = r.headers["CivicLoop-Position"]

    detail = await view.get(f"/api/v1/agent/requests/{number}", headers={"CivicLoop-Position": position})
    assert detail.status_code == 200 and detail.headers["CivicLoop-Position-Applied"] == "true", detail.text
    request = detail.json()
    by_staff = [h for h in request["history"] if h["actor"]["kind"] == "agent"]
    steps = [(h["type"], h["summary"].get("status")) for h in by_staff]
    assert steps == [
        ("request.status.changed", "acknowledged"),
        ("request.assigned", None),
        ("request.comment.added", None),
        ("request.comment.added", None),
        ("request.visit.scheduled", None),
        ("request.status.changed", "closed"),
        ("request.status.changed", "open"),
    ]
    assert {h["actor"]["id"] for h in by_staff} == {str(AGENT_ID)}
    # the rest is the resident's report and what the system did with it (routing, delivery to the department)
    assert {h["actor"]["kind"] for h in request["history"]} - {"agent"} <= {"resident", "system"}
    assert (request["status"], request["status_reason"], request["reopen_count"]) == (
        "open",
        "recurred",
        1,
    )
    assert (request["team"], request["assignee"]) == ("streets", str(AGENT_ID))
    assert [(c["visibility"], c["actor"]["id"]) for c in request["comments"]] == [
        ("public", str(AGENT_ID)),
        ("internal", str(AGENT_ID)),
    ]
    [visit] = request["visits"]
    assert (visit["state"], visit["duration_minutes"], visit["address"]) == ("planned", 120, "12 Main St")

    mine = await view.get("/api/v1/agent/requests", params={"mine": "true"})
    assert [i["request_number"] for i in mine.json()["items"]] == [number]
    counts = (await view.get("/api/v1/agent/queues")).json()
    assert (counts["open"], counts["mine"], counts["by_team"]) == (
        1,
        1,
        [{"value": "streets", "count": 1}],
    )

    # The resident's view: each public step, no internal note, no assignment.
    track = await intake.post(
        "/api/v1/track", json={"number": number, "phone": PHONE}, headers={"CivicLoop-Position": position}
    )
    assert track.status_code == 200, track.text
    assert track.json()["status"] == "open"
    for public in ("We have it.", "A crew goes this week.", "Filled and sealed.", "Reported again."):
        assert public in track.text, public
    for private in (INTERNAL, str(AGENT_ID), "streets"):
        assert private not in track.text, private

    # Open311: the status an agent set, the latest public note, every public change an update.
    async def in_open311() -> dict[str, Any] | None:
        r = await open311.get(f"/requests/{number}.json", params={"jurisdiction_id": "demo"})
        rows = r.json() if r.status_code == 200 else []
        return rows[0] if rows and rows[0].get("status_notes") == "Reported again." else None

    request_311 = await eventually(in_open311, timeout=30, what="Open311 to show the reopening", interval=0.1)
    assert request_311["status"] == "open"
    window = {
        "jurisdiction_id": "demo",
        "start_date": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    updates = (await open311.get("/servicerequestupdates.json", params=window)).json()
    said = [(u["status"], u.get("description") or "") for u in updates if u["service_request_id"] == number]
    assert said[0] == ("investigating", "We have it.")
    assert ("investigating", "A crew goes this week.") in said
    assert said[-2:] == [("fixed", "Filled and sealed."), ("reopen", "Reported again.")]
    for private in (INTERNAL, str(AGENT_ID), "streets", "12 Main St"):
        assert private not in str(updates), private

    # The department: the report, then the public comment and the reopening; the internal note never.
    def mails() -> list[str]:
        return [
            r.message.get_body(("plain",)).get_content()
            for r in smtp.with_header("X-CivicLoop-Request", number)
        ]

    async def told() -> list[str] | None:
        texts = mails()
        return texts if len(texts) >= 3 else None

    texts = await eventually(
        told, timeout=30, what="the report and two updates to the department", interval=0.1
    )
    assert [r.rcpt_tos for r in smtp.with_header("X-CivicLoop-Request", number)] == [[ROADS]] * 3
    assert "Deep hole" in texts[0]
    assert "A crew goes this week." in texts[1] and "Reported again." in texts[2]
    assert not [t for t in texts if INTERNAL in t]
