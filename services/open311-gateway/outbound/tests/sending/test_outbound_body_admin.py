"""Pause and resume a body over HTTP (the admin pages' buttons), on the real broker and database: an admin's call
puts the event on `jurisdiction.config` with the admin as actor, the config fold applies it, the status shows it;
auditors, agents, another jurisdiction's admin and an unknown body change nothing."""

from __future__ import annotations

import uuid

import pytest
from civicloop_events.payloads import BodyDefined, SendMethod
from civicloop_testing.events import read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers
from outbound_harness import OutboundWorld

pytestmark = pytest.mark.integration


def parks() -> BodyDefined:
    return BodyDefined(
        body_id="parks",
        name="Parks",
        send_method=SendMethod.email,
        service_codes=["GRAFFITI"],
        email="parks@springfield.example.gov",
    )


async def test_an_admin_pauses_and_resumes_a_body(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    city = await w.new_city("body-admin", parks())
    admin_id = uuid.uuid4()
    admin = staff_headers(admin_id, "admin", jurisdiction_id=city)
    url = "admin/outbound/bodies/parks"

    for refused, headers in (
        (403, staff_headers(None, "auditor", jurisdiction_id=city)),
        (403, staff_headers(None, "agent", jurisdiction_id=city)),
        (401, {}),
    ):
        answer = await w.client.post(f"{url}/pause", json={"reason": "x"}, headers=headers)
        assert answer.status_code == refused, answer.text
    elsewhere = staff_headers(None, "admin", jurisdiction_id=f"{city}-other")
    assert (await w.client.post(f"{url}/pause", headers=elsewhere)).status_code == 404
    assert (await w.client.post("admin/outbound/bodies/nobody/pause", headers=admin)).status_code == 404
    assert (await w.status_api(city))["parks"]["paused"] is False

    paused = await w.client.post(f"{url}/pause", json={"reason": "new contract"}, headers=admin)
    assert paused.status_code == 202, paused.text
    assert paused.json() == {"body_id": "parks", "published": "jurisdiction.body.paused"}

    async def shows(state: bool) -> bool:
        return (await w.status_api(city))["parks"]["paused"] is state

    await eventually(lambda: shows(True), timeout=30, what="the body paused")
    assert (await w.status_api(city))["parks"]["paused_reason"] == "new contract"

    resumed = await w.client.post(f"{url}/resume", headers=admin)
    assert resumed.status_code == 202, resumed.text
    await eventually(lambda: shows(False), timeout=30, what="the body resumed")

    changes = [
        e
        for e in await read_all_events(w.settings.kafka_bootstrap, w.topics.jurisdiction_config, 1)
        if e.jurisdiction_id == city and e.type in ("jurisdiction.body.paused", "jurisdiction.body.resumed")
    ]
    assert [e.type for e in changes] == ["jurisdiction.body.paused", "jurisdiction.body.resumed"]
    assert {(e.actor.kind, e.actor.id) for e in changes} == {("agent", str(admin_id))}
