"""The queue's map in Debian's chromium, on the real app, database and broker with public-projections' agent view:
an agent signed in sees the queue's requests that have a place as pins (the report map's Leaflet, no basemap), and
the same requests as a list of links; a request without a place is only counted. Nothing leaves the loopback;
axe-core finds no serious or critical violation; screenshots `console-queue-map` at phone and desktop widths."""

from __future__ import annotations

import pytest
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.polling import eventually
from console_harness import PASSWORD, console_world
from intake_harness import Harness
from playwright.async_api import Page, expect

pytestmark = pytest.mark.integration


async def _report(intake: Harness, description: str, **where: object) -> str:
    body = {"service_code": "pothole", "description": description, **where}
    made = await intake.client.post("/api/v1/requests", json=body)
    assert made.status_code == 201, made.text
    number: str = made.json()["request_number"]
    return number


async def test_an_agent_sees_the_queues_placed_requests_on_a_map(
    intake: Harness, open_page: OpenPage, screenshots
):
    placed = await _report(intake, "A hole by the school", lat=34.0012, long=-118.0021)
    other = await _report(intake, "A hole by the park", lat=34.0049, long=-117.9968)
    await _report(intake, "Somewhere on Oak Ave", address_string="14 Oak Ave")
    async with console_world(intake) as world:
        with world.served() as base:
            page = await open_page(javascript=True)
            blocked = await loopback_only(page.context)
            await page.goto(f"{base}/console/queue/map", wait_until="load")  # not signed in: to the form
            await expect(page.locator("h1")).to_have_text("Sign in")
            await page.fill("#s-email", world.agent.email)
            await page.fill("#s-password", PASSWORD)
            await page.fill("#s-code", world.agent.totp.now())
            await page.keyboard.press("Enter")
            await expect(page.locator("h1")).to_have_text("Queue")
            await page.click("p.select-links a:text-is('Queue map')")  # the queue links to its map
            await expect(page.locator("h1")).to_have_text("Queue map")

            async def both_placed() -> bool:
                await page.goto(f"{base}/console/queue/map", wait_until="load")
                listed = page.locator("ul.queue-placed")
                return await listed.locator(f"a:text-is('{placed}')").count() == 1 and (
                    await listed.locator(f"a:text-is('{other}')").count() == 1
                )

            await eventually(both_placed, timeout=30, what="the placed requests on the queue's map")
            await expect(page.locator("h1")).to_have_text("Queue map")
            await expect(page.locator("#queue-map")).to_be_visible()
            pins = page.locator("#queue-map .leaflet-marker-icon")
            assert await pins.count() == await page.locator("ul.queue-placed li").count()
            await expect(page.locator(f"#queue-map .leaflet-marker-icon[title^='{placed}']")).to_have_count(1)
            await expect(page.locator("#h-queue-map")).to_contain_text(
                "Not on the map, having no place:"
            )  # the Oak Ave report
            await expect(page.locator("#queue-map .leaflet-tile")).to_have_count(0)  # no basemap set
            # A pin by keyboard: focused, Enter opens its label, a link to the request.
            await page.locator(f"#queue-map .leaflet-marker-icon[title^='{placed}']").focus()
            await page.keyboard.press("Enter")
            popup_link = page.locator(".leaflet-popup-content a")
            await expect(popup_link).to_contain_text(placed)
            await _no_serious_violations(page)
            await screenshots(page, "console-queue-map")
            await popup_link.click()
            await expect(page.locator("h1")).to_contain_text(placed)
    assert blocked.urls == [], blocked.urls


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)
