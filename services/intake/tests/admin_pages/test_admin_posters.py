"""The poster builder of the admin pages, on the real app, database and broker: an admin makes a poster (PDF and SVG,
drawn by intake's poster route) and downloads it; a refusal comes back on the page with what was typed; the
reports each link source brought are listed; only an admin's session with its CSRF token makes one."""

from __future__ import annotations

import pytest
from admin_harness import admin_world, sign_in
from civicloop_staff.roles import Role
from civicloop_testing.polling import eventually
from console_harness import browser_client, hidden
from intake_harness import Harness

pytestmark = pytest.mark.integration

PAGE = "/console/admin/posters"


async def test_an_admin_makes_a_poster_and_sees_which_posters_work(intake: Harness):
    async with admin_world(intake) as (world, _), browser_client(world) as client:
        await sign_in(client, world)
        page = await client.get(PAGE)
        assert page.status_code == 200, page.text
        csrf = hidden(page.text, "csrf", PAGE)
        spot = {
            "csrf": csrf,
            "poster_id": "elm-park",
            "kind": "spot",
            "title": "Elm Park",
            "address": "100 block of Elm St",
            "lat": "38.9101",
            "lng": "-77.0147",
        }
        pdf = await client.post(PAGE, data={**spot, "format": "pdf"})
        assert pdf.status_code == 200, pdf.text[-2000:]
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        assert 'filename="poster-elm-park.pdf"' in pdf.headers["content-disposition"]
        assert pdf.headers["cache-control"] == "no-store"
        svg = await client.post(PAGE, data={**spot, "format": "svg"})
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert "Elm Park" in svg.text and "lat=38.910100" in svg.text  # the headline, the link in small print

        refused = await client.post(PAGE, data={**spot, "poster_id": "Not A Slug", "lat": "123"})
        assert refused.status_code == 422 and 'role="alert"' in refused.text
        assert "poster_id" in refused.text and "lat" in refused.text
        assert 'value="Elm Park"' in refused.text  # what was typed, kept

        forged = await client.post(PAGE, data={**spot, "csrf": "forged"})
        assert forged.status_code == 403

        # A report that came through the poster's link is counted under its source.
        made = await intake.client.post(
            "/api/v1/requests",
            json={
                "service_code": "pothole",
                "description": "Hole by the park gate",
                "address_string": "100 block of Elm St",
                "source": "poster-elm-park",
            },
        )
        assert made.status_code == 201, made.text

        async def counted() -> bool:
            shown = await client.get(PAGE)
            return "<code>poster-elm-park</code>" in shown.text

        await eventually(counted, timeout=30, what="the poster's report counted")


async def test_only_admins_make_posters(intake: Harness):
    async with admin_world(intake, roles=(Role.agent,)) as (world, _), browser_client(world) as client:
        await sign_in(client, world)
        csrf = hidden((await client.get("/console/queue")).text, "csrf")
        assert (await client.get(PAGE)).status_code == 403
        made = await client.post(PAGE, data={"csrf": csrf, "poster_id": "x", "title": "X", "format": "pdf"})
        assert made.status_code == 403 and not made.content.startswith(b"%PDF")
