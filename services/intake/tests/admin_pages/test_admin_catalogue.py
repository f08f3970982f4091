"""The catalogue page of the admin pages, with the Open311 gateway's real app (its own database, the test's broker
topics): an admin defines a service and withdraws it, each asked of the gateway's admin API with the admin's own
token and on `jurisdiction.config`; the gateway's refusal (a code in use) comes back on the page with what was
typed; a forged form changes nothing; without the gateway's address the page says so."""

from __future__ import annotations

from uuid import uuid4

import pytest
from admin_harness import admin_world, config_events, gateway_served, replica, sign_in
from civicloop_testing.polling import eventually
from console_harness import browser_client, hidden
from intake_harness import Harness

pytestmark = pytest.mark.integration

PAGE = "/console/admin/catalogue"


async def test_an_admin_defines_and_withdraws_a_service(intake: Harness, pg_admin_dsn: str):
    code = f"DRAIN-{uuid4().hex[:6].upper()}"
    async with admin_world(intake) as (world, _):
        with gateway_served(world, intake, pg_admin_dsn) as gateway_url:
            async with replica(world, admin_gateway_url=gateway_url) as client:
                await sign_in(client, world)
                page = await client.get(PAGE)
                assert page.status_code == 200, page.text
                csrf = hidden(page.text, "csrf", f"{PAGE}/services")
                service = {
                    "csrf": csrf,
                    "service_code": code,
                    "service_name": "Blocked drain",
                    "description": "Water that does not drain away",
                    "group": "water",
                    "keywords": "drain, flood",
                }
                forged = await client.post(f"{PAGE}/services", data={**service, "csrf": "forged"})
                assert forged.status_code == 403

                made = await client.post(f"{PAGE}/services", data=service)
                assert made.status_code == 303 and "done=defined" in made.headers["location"], made.text

                async def state(text: str) -> bool:
                    shown = await client.get(PAGE)
                    start = shown.text.find(f'id="service-{code}"')
                    return start >= 0 and text in shown.text[start : shown.text.index("</tr>", start)]

                await eventually(lambda: state("Offered"), timeout=30, what="the service listed")
                again = await client.post(f"{PAGE}/services", data={**service, "service_name": "Drain again"})
                assert again.status_code == 409 and "Refused:" in again.text
                assert 'value="Drain again"' in again.text  # what was typed, kept

                withdrawn = await client.post(f"{PAGE}/services/{code}/withdraw", data={"csrf": csrf})
                assert withdrawn.status_code == 303 and "done=withdrawn" in withdrawn.headers["location"]
                await eventually(lambda: state("Withdrawn"), timeout=30, what="the service withdrawn")

    defined = [
        e.payload
        for e in await config_events(intake)
        if e.type == "jurisdiction.service.defined" and getattr(e.payload, "service_code", None) == code
    ]
    assert [(d.service_name, d.active, d.keywords) for d in defined] == [
        ("Blocked drain", True, ["drain", "flood"]),
        ("Blocked drain", False, ["drain", "flood"]),
    ]


async def test_without_the_gateway_the_page_says_so(intake: Harness):
    async with admin_world(intake) as (world, _), browser_client(world) as client:
        await sign_in(client, world)
        page = await client.get(PAGE)
        assert page.status_code == 200 and "CIVICLOOP_ADMIN_GATEWAY_URL" in page.text
