"""The console's queue in Debian's chromium, on the real app, database and broker with public-projections' agent view:
an agent reads each request's SLA in words, then by keyboard alone ticks two requests and acknowledges them, reads
which were done, selects all on the page and closes them after the summary, the refused ones saying why. axe-core
finds no serious or critical violation on any of these pages; screenshots at phone and desktop widths go to
.run/screenshots/ (console-queue-*, console-bulk-*)."""

from __future__ import annotations

import pytest
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.polling import eventually
from console_harness import PASSWORD, console_world
from intake_harness import Harness
from playwright.async_api import Locator, Page, expect
from queue_world import new_jurisdiction, seed_queue

pytestmark = pytest.mark.integration


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)


async def tab_to(page: Page, target: Locator, *, limit: int = 120) -> None:
    """Tab (only the key) until `target` has the focus, as a keyboard user moves through the page."""
    for _ in range(limit):
        if await target.evaluate("e => e === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} never got the focus in {limit} presses of Tab")


async def test_an_agent_selects_and_works_requests_in_bulk_by_keyboard_alone(
    intake: Harness, open_page: OpenPage, screenshots
):
    jurisdiction = new_jurisdiction()
    async with console_world(intake, jurisdiction_id=jurisdiction) as world:
        made = await seed_queue(intake, jurisdiction)
        with world.served() as base:
            page = await open_page(javascript=True)
            blocked = await loopback_only(page.context)
            await page.goto(f"{base}/console/sign-in", wait_until="load")
            await page.fill("#s-email", world.agent.email)
            await page.fill("#s-password", PASSWORD)
            await page.fill("#s-code", world.agent.totp.now())
            await page.keyboard.press("Enter")
            await expect(page.locator("h1")).to_have_text("Queue")

            def row(number: str) -> Locator:
                return page.locator("tbody tr", has=page.locator(f"a:text-is('{number}')"))

            async def seeded() -> bool:
                await page.reload(wait_until="load")
                if (
                    await page.locator("tbody tr").count() != 5
                    or "Late" not in await row(made.late).inner_text()
                ):
                    return False
                counts = " ".join((await page.locator("nav.counts").text_content() or "").split())
                return "streets 1" in counts  # the counts are read a moment before the rows: both caught up

            await eventually(seeded, timeout=30, what="the seeded requests and their SLA in the queue")
            await expect(row(made.late).locator("td.sla-cell")).to_contain_text("Late")
            await expect(row(made.late).locator("td.sla-cell")).to_contain_text("acknowledgement due")
            await expect(row(made.soon).locator("td.sla-cell")).to_contain_text("Due soon")
            await expect(row(made.no_target).locator("td.sla-cell")).to_have_text("No target")
            await expect(page.locator("nav.counts")).to_contain_text("streets 1")
            await _no_serious_violations(page)
            await screenshots(page, "console-queue-sla")

            # By keyboard alone: Tab to a request's box, Space ticks it; then to the action's button, Enter.
            late_box = page.locator(f"#pick-{made.late}")
            on_time_box = page.locator(f"#pick-{made.on_time}")
            await page.locator("body").focus()
            await tab_to(page, late_box)
            await page.keyboard.press("Space")
            await expect(late_box).to_be_checked()
            await tab_to(page, on_time_box)
            await page.keyboard.press("Space")
            await expect(on_time_box).to_be_checked()
            await expect(page.locator(f"#pick-{made.soon}")).not_to_be_checked()
            await tab_to(page, page.locator("#bulk-ack-note"))
            await page.keyboard.type("A crew will look this week")
            await screenshots(page, "console-bulk-selected")
            await tab_to(page, page.locator("button[value=acknowledge]"))
            await page.keyboard.press("Enter")

            result = page.locator("section.bulk-result")
            await expect(result.locator("h2")).to_have_text("Acknowledge: 2 done, 0 refused")
            await expect(result).to_contain_text(f"{made.late}: done.")
            await expect(result).to_contain_text(f"{made.on_time}: done.")
            await expect(row(made.late).locator("td").nth(2)).to_have_text("Acknowledged")
            await _no_serious_violations(page)
            await screenshots(page, "console-bulk-acknowledged")

            # Select all on this page (a link: no script needed), then close them all, after the summary.
            await page.locator("body").focus()
            await tab_to(page, page.locator("a", has_text="Select all on this page"))
            await page.keyboard.press("Enter")
            await expect(page.locator("input[name=number]:checked")).to_have_count(5)
            await tab_to(page, page.locator("#bulk-reason"))
            await page.keyboard.press("End")  # the last reason of the list
            await page.keyboard.press("Home")  # back to the first: "fixed"
            await expect(page.locator("#bulk-reason")).to_have_value("fixed")
            await tab_to(page, page.locator("#bulk-close-note"))
            await page.keyboard.type("Fixed in the week's round")
            await tab_to(page, page.locator("button[value=close]"))
            await page.keyboard.press("Enter")

            await expect(page.locator("h1")).to_have_text("Close 5 requests?")
            await expect(page.locator("ul.confirm-numbers li")).to_have_count(5)
            await expect(page.locator("#confirm-reason")).to_have_text("Fixed")
            await _no_serious_violations(page)
            await screenshots(page, "console-bulk-confirm")
            await page.locator("body").focus()
            await tab_to(page, page.locator("button", has_text="Close these 5 requests"))
            await page.keyboard.press("Enter")

            await expect(result.locator("h2")).to_have_text("Close: 5 done, 0 refused")
            await expect(page.locator("tbody tr")).to_have_count(0)
            await _no_serious_violations(page)
            await screenshots(page, "console-bulk-closed")

            # A refusal says why: closing the closed again, from the Spanish queue of closed requests.
            await page.goto(f"{base}/console/queue?lang=es&status=closed&select=all", wait_until="load")
            await expect(page.locator("input[name=number]:checked")).to_have_count(5)
            await page.select_option("#bulk-status", "on_hold")
            await page.click("button[value=status]")
            await expect(result.locator("h2")).to_have_text("Cambiar el estado: 0 hechas, 5 rechazadas")
            await expect(result).to_contain_text(f"{made.late}: rechazada: está cerrada.")
            await _no_serious_violations(page)
            await screenshots(page, "console-bulk-refused-es")
            assert blocked.urls == [], blocked.urls

    for number in made.all():
        worked = [e for e in await world.events_of(intake, number) if e.actor.kind == "agent"]
        assert worked[-1].payload.status.value == "closed"
        assert worked[-1].actor.id == str(world.agent.staff_id)
