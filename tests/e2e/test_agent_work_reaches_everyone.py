"""End to end through the real broker and PostGIS: an agent works a request through intake's commands, and each step
shows in the agent view (public-projections) with the agent as its actor, in the queues and their counts.

Both services run in this process as their real ASGI apps (lifespans, consumers, pools), wired only through Kafka.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from civicloop_events import PersonalData, ServiceDefined
from civicloop_events.payloads.staff import StaffCreated, TeamDefined
from civicloop_events.personal_data import new_key, seal
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from e2e_world import migrated_intake, migrated_projections, publish_configuration, serving

pytestmark = pytest.mark.integration

AGENT_ID = uuid.uuid4()


async def test_each_step_of_an_agent_s_work_shows_in_the_agent_view_with_its_actor(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    projection_settings = migrated_projections(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        TeamDefined(team_id="streets", name="Streets"),
        StaffCreated(
            staff_id=AGENT_ID,
            contact=seal(PersonalData(), resident_id=AGENT_ID, key=new_key()),
            roles=["agent"],
            teams=["streets"],
        ),
    )
    agent_token = staff_headers(AGENT_ID)
    async with serving(
        (create_intake(intake_settings, staff_verifier=verifier_for_tests()), "http://intake"),
        (create_projections(projection_settings, staff_verifier=verifier_for_tests()), "http://projections"),
    ) as (intake, view):
        view.headers.update(agent_token)

        async def catalogued() -> httpx.Response | None:
            body = {"service_code": "pothole", "description": "Deep hole", "address_string": "12 Main St"}
            r = await intake.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "e2e-work-1"})
            return None if r.status_code == 422 else r

        r = await eventually(catalogued, timeout=30, what="intake to learn the catalogue", interval=0.1)
        assert r.status_code == 201, r.text
        number = r.json()["request_number"]

        async def act(path: str, body: dict) -> httpx.Response:
            return await intake.post(
                f"/api/v1/agent/requests/{number}/{path}", json=body, headers=agent_token
            )

        async def assigned() -> httpx.Response | None:  # intake learns the team and the agent from the log
            r = await act("assign", {"team_id": "streets", "staff_id": str(AGENT_ID)})
            return None if r.status_code == 422 else r

        visit_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        r = await act("acknowledge", {"public_note": "We have it."})
        assert r.status_code == 201, r.text
        r = await eventually(
            assigned, timeout=30, what="intake to learn the team and the agent", interval=0.1
        )
        assert r.status_code == 201, r.text
        for path, body in (
            ("comments", {"text": "A crew goes this week.", "visibility": "public"}),
            ("comments", {"text": "Second call from this resident", "visibility": "internal"}),
            ("visits", {"starts_at": visit_at.isoformat(), "duration_minutes": 120}),
            ("close", {"reason": "fixed", "public_note": "Filled and sealed."}),
            ("reopen", {"reason": "recurred", "public_note": "Reported again."}),
        ):
            r = await act(path, body)
            assert r.status_code == 201, (path, r.text)
        position = r.headers["CivicLoop-Position"]

        detail = await view.get(f"/api/v1/agent/requests/{number}", headers={"CivicLoop-Position": position})
        assert detail.headers["CivicLoop-Position-Applied"] == "true"
        request = detail.json()
        steps = [(h["type"], h["summary"].get("status")) for h in request["history"][1:]]
        assert steps == [
            ("request.status.changed", "acknowledged"),
            ("request.assigned", None),
            ("request.comment.added", None),
            ("request.comment.added", None),
            ("request.visit.scheduled", None),
            ("request.status.changed", "closed"),
            ("request.status.changed", "open"),
        ]
        assert {h["actor"]["id"] for h in request["history"][1:]} == {str(AGENT_ID)}
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
