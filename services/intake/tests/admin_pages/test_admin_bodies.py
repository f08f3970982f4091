"""The bodies page of the admin pages, with outbound's real app on the same database and broker: an admin sees
what waits for each body of the jurisdiction, pauses one (with why) and resumes it, each asked of outbound with the
admin's own token and on `jurisdiction.config` with the admin as actor; a forged form changes nothing; without
outbound's address the page says so. A report given up on a body (a webhook that refuses it) is listed under the
body and requeued from the page, the admin as actor."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from admin_harness import (
    BodyEndpoint,
    admin_world,
    config_events,
    define_body,
    reported,
    sign_in,
    with_outbound,
)
from civicloop_events import decode_event
from civicloop_events.payloads import BodyDefined, SendMethod, WebhookConnection
from civicloop_testing.polling import eventually
from civicloop_testing.threaded_server import serve_in_thread
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


async def test_an_admin_requeues_a_report_given_up_on_a_body(intake: Harness, monkeypatch):
    """outbound sending by webhook to an endpoint that refuses: the report is given up, listed under its body, and
    requeued from the page; given up again (the endpoint still refuses), it shows as requeued once; sent once the
    endpoint takes it."""
    monkeypatch.setenv("CIVICLOOP_SECRET_ADMIN_PAGES_WEBHOOK", "a webhook secret for the admin pages' tests")
    endpoint = BodyEndpoint()
    tag = uuid4().hex[:6]
    body_id, service_code = f"works-{tag}", f"HOLE-{tag}"
    with serve_in_thread(endpoint.app()) as endpoint_url:
        await define_body(
            intake,
            BodyDefined(
                body_id=body_id,
                name="Public Works",
                send_method=SendMethod.webhook,
                service_codes=[service_code],
                webhook=WebhookConnection(url=f"{endpoint_url}/hook", secret_ref="admin-pages.webhook"),
            ),
        )
        async with (
            admin_world(intake) as (world, _),
            with_outbound(world, intake, frozenset({SendMethod.webhook})) as (client, _),
        ):
            await sign_in(client, world)
            number = await reported(intake, service_code)

            async def given_up_row(requeued_before: int) -> str | None:
                page = await client.get(PAGE)
                start = page.text.find(f'id="given-up-{body_id}-{number}"')
                row = page.text[start : page.text.index("</tr>", start)] if start >= 0 else ""
                counts = re.findall(r'class="count">(\d+)<', row)
                return page.text if counts == ["1", str(requeued_before)] else None

            page = await eventually(lambda: given_up_row(0), timeout=45, what="the report given up")
            requeue = f"{PAGE}/{body_id}/given-up/{number}/requeue"
            csrf = hidden(page, "csrf", requeue)
            assert (await client.post(requeue, data={"csrf": "forged"})).status_code == 403
            nothing = await client.post(f"{PAGE}/{body_id}/given-up/ZZZZ-ZZZZ/requeue", data={"csrf": csrf})
            assert nothing.status_code == 409 and "nothing to requeue" in nothing.text
            elsewhere = await client.post(
                f"{PAGE}/nobody-here/given-up/{number}/requeue", data={"csrf": csrf}
            )
            assert elsewhere.status_code == 404

            requeued = await client.post(requeue, data={"csrf": csrf})
            assert requeued.status_code == 303 and "done=requeued" in requeued.headers["location"], (
                requeued.text
            )
            await eventually(lambda: given_up_row(1), timeout=45, what="tried again, given up again")
            assert endpoint.calls == 2

            endpoint.status = 200
            assert (await client.post(requeue, data={"csrf": csrf})).status_code == 303

            async def sent() -> bool:
                page = await client.get(PAGE)
                return endpoint.calls == 3 and f'id="given-up-{body_id}-{number}"' not in page.text

            await eventually(sent, timeout=45, what="the requeued report sent")

    requeues = [
        e
        for e in (decode_event(r.value) for r in await intake.records())
        if e.type == "request.delivery.requeued" and e.request_id == number
    ]
    assert [(e.actor.kind, e.actor.id, e.payload.body_id) for e in requeues] == [
        ("agent", str(world.agent.staff_id), body_id),
        ("agent", str(world.agent.staff_id), body_id),
    ]
