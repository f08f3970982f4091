"""The bodies page of the admin pages, with outbound's real app on the same database and broker: an admin sees
what waits for each body of the jurisdiction, pauses one (with why) and resumes it, each asked of outbound with the
admin's own token and on `jurisdiction.config` with the admin as actor; a forged form changes nothing; without
outbound's address the page says so."""

from __future__ import annotations

from uuid import uuid4

import pytest
from admin_harness import admin_world, config_events, define_body, sign_in, with_outbound
from civicloop_events.payloads import BodyDefined, SendMethod
from civicloop_testing.polling import eventually
from console_harness import browser_client, hidden
from intake_harness import Harness

pytestmark = pytest.mark.integration

PAGE = "/console/admin/bodies"


async def test_an_admin_pauses_and_resumes_a_body(intake: Harness):
    body_id = f"parks-{uuid4().hex[:6]}"
    await define_body(
        intake,
        BodyDefined(
            body_id=body_id,
            name="Parks",
            send_method=SendMethod.email,
            service_codes=["ADMIN-PAGES-ONLY"],
            email="parks@county.example",
        ),
    )
    async with admin_world(intake) as (world, _), with_outbound(world, intake) as (client, _):
        await sign_in(client, world)

        async def row(text: str) -> str | None:
            page = await client.get(PAGE)
            start = page.text.find(f'id="body-{body_id}"')
            found = page.text[start : page.text.index("</tr>", start)] if start >= 0 else ""
            return page.text if text in found else None

        page = await eventually(lambda: row("Sending"), timeout=30, what="the body listed by outbound")
        csrf = hidden(page, "csrf", f"{PAGE}/{body_id}/pause")

        forged = await client.post(f"{PAGE}/{body_id}/pause", data={"csrf": "forged", "reason": "x"})
        assert forged.status_code == 403
        unknown = await client.post(f"{PAGE}/nobody-here/pause", data={"csrf": csrf})
        assert unknown.status_code == 404 and "No such body" in unknown.text

        paused = await client.post(f"{PAGE}/{body_id}/pause", data={"csrf": csrf, "reason": "new contract"})
        assert paused.status_code == 303 and "done=paused" in paused.headers["location"]
        await eventually(lambda: row("Paused (new contract)"), timeout=30, what="the body paused")
        resumed = await client.post(f"{PAGE}/{body_id}/resume", data={"csrf": csrf})
        assert resumed.status_code == 303, resumed.text
        await eventually(lambda: row("Sending"), timeout=30, what="the body sending again")

        changes = [
            e
            for e in await config_events(intake)
            if e.type.startswith("jurisdiction.body.") and getattr(e.payload, "body_id", None) == body_id
        ]
        assert [(e.type, e.actor.kind, e.actor.id) for e in changes[1:]] == [
            ("jurisdiction.body.paused", "agent", str(world.agent.staff_id)),
            ("jurisdiction.body.resumed", "agent", str(world.agent.staff_id)),
        ]


async def test_without_outbound_the_page_says_so(intake: Harness):
    async with admin_world(intake) as (world, _), browser_client(world) as client:
        await sign_in(client, world)
        page = await client.get(PAGE)
        assert page.status_code == 200 and "CIVICLOOP_ADMIN_OUTBOUND_URL" in page.text
