"""The console in Debian's chromium, on the real app, database and broker with public-projections' agent view: an
agent signs in by keyboard alone (password and TOTP), opens the queue, and works a new request to closed through
its page's forms (assigning by the picker, a priority, a visit planned, a reply template on closing), asking first
who the acknowledgement and a visit's cancellation would notify; the log holds each step with the agent as actor.
axe-core finds no serious or critical violation on any page; screenshots at phone and desktop widths go to .run/screenshots/."""

from __future__ import annotations

import pytest
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.polling import eventually
from console_harness import PASSWORD, console_world, notifier_settings
from intake_harness import Harness
from playwright.async_api import Page, expect

pytestmark = pytest.mark.integration


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)


async def test_an_agent_signs_in_and_works_a_request_to_closed(
    intake: Harness, inbox: object, open_page: OpenPage, screenshots
):
    report = {
        "service_code": "pothole",
        "description": "Streetlight out at the corner",
        "address_string": "14 Oak Ave",
        "contact": {"email": "r@example.org"},
        "preferred_channel": "email",
    }
    made = await intake.client.post("/api/v1/requests", json=report)
    assert made.status_code == 201, made.text
    number = made.json()["request_number"]
    async with console_world(intake, notifier=notifier_settings(intake)) as world:
        with world.served() as base:
            page = await open_page(javascript=True)
            blocked = await loopback_only(page.context)

            await page.goto(f"{base}/console/queue", wait_until="load")  # not signed in: to the form
            await expect(page.locator("h1")).to_have_text("Sign in")
            await _no_serious_violations(page)
            await screenshots(page, "console-sign-in")

            # By keyboard alone: the skip link, then each field in turn, Enter to send.
            await page.keyboard.press("Tab")
            await expect(page.locator("a.skip")).to_be_focused()
            await page.locator("#s-email").focus()
            await page.keyboard.type(world.agent.email)
            await page.keyboard.press("Tab")
            await expect(page.locator("#s-password")).to_be_focused()
            await page.keyboard.type(PASSWORD)
            await page.keyboard.press("Tab")
            await expect(page.locator("#s-code")).to_be_focused()
            await page.keyboard.type(world.agent.totp.now())
            await page.keyboard.press("Enter")
            await expect(page.locator("h1")).to_have_text("Queue")

            async def listed() -> bool:
                await page.reload(wait_until="load")
                return await page.locator(f"a:text-is('{number}')").count() == 1

            await eventually(listed, timeout=30, what="the new request in the queue")
            await _no_serious_violations(page)
            await screenshots(page, "console-queue")

            await page.locator(f"a:text-is('{number}')").focus()
            await page.keyboard.press("Enter")
            await expect(page.locator("h1")).to_contain_text(number)
            await expect(page.locator("#status")).to_have_text("Open")
            await _no_serious_violations(page)
            await screenshots(page, "console-request")

            action = f"form[action^='/console/requests/{number}/"
            await page.fill("#acknowledge-note", "A crew will look at it this week")

            async def previewed() -> bool:  # the notifier folds the new request on its own consumer
                await page.click(f"{action}acknowledge'] button[name=preview]")
                await expect(page.locator("section.preview")).to_be_visible()
                return await page.locator("section.preview li").count() == 1

            await eventually(previewed, timeout=30, what="the preview to name the resident")
            await expect(page.locator("section.preview")).to_contain_text(f"{number} · email · en")
            await expect(page.locator("#acknowledge-note")).to_have_value("A crew will look at it this week")
            await _no_serious_violations(page)
            await screenshots(page, "console-preview")
            await page.click(f"{action}acknowledge'] button:not([name])")
            await expect(page.locator("p.done")).to_have_text("Done: Acknowledge.")
            await expect(page.locator("#status")).to_have_text("Acknowledged")

            await page.fill("#comment-text", "Bulb and fuse both checked")
            await page.click(f"{action}comment'] button[type=submit]")
            await expect(page.locator("p.done")).to_have_text("Done: Comment.")
            await expect(page.locator("ul.comments")).to_contain_text("Bulb and fuse both checked")

            await page.click(f"{action}assign'] button[name=to_me]")
            await expect(page.locator("#assignee")).to_have_text(world.agent.email)  # by name (here, no name)

            # The picker names staff, never asks for an id; priority and a visit, by keyboard-reachable forms.
            await expect(page.locator("#assign-staff option:checked")).to_contain_text(world.agent.email)
            await page.select_option("#priority-new", "high")
            await page.click(f"{action}priority'] button[type=submit]")
            await expect(page.locator("#priority")).to_have_text("High")
            await page.fill("#visit-start", "2031-06-02T09:30")
            await page.click(f"{action}visit'] button:not([name])")
            await expect(page.locator("p.done")).to_have_text("Done: Schedule a visit.")
            await expect(page.locator("ul.visits li")).to_have_count(1)
            await expect(page.locator("#v1-start")).to_have_value("2031-06-02T09:30")
            await page.fill("#v1-cancel-note", "The crew is needed elsewhere")
            await page.click(f"{action}cancel_visit'] button[name=preview]")
            await expect(page.locator("#preview-v1-cancel")).to_be_visible()
            await expect(page.locator("section.preview li")).to_contain_text(f"{number} · email · en")
            await _no_serious_violations(page)
            await screenshots(page, "console-request-visit")

            # Closing with a reply template: the API fills it in as the note the resident reads.
            await page.select_option("#close-reason", "fixed")
            await page.select_option("#close-template", "close-fixed")
            await page.click(f"{action}close'] button:not([name])")
            await expect(page.locator("#status")).to_contain_text("Closed")
            await expect(page.locator("table.history")).to_contain_text("request.status.changed")
            await _no_serious_violations(page)
            await screenshots(page, "console-request-closed")

            await page.goto(f"{base}/console/requests/{number}?lang=es", wait_until="load")
            await expect(page.locator("#status")).to_contain_text("Cerrada")
            await expect(page.locator("#priority")).to_have_text("Alta")
            await expect(page.locator("form[action*='/reopen'] legend")).to_have_text("Reabrir")
            await _no_serious_violations(page)
            await screenshots(page, "console-request-es")

            await page.goto(f"{base}/console/sign-in?lang=es", wait_until="load")
            await expect(page.locator("h1")).to_have_text("Iniciar sesión")
            await _no_serious_violations(page)
            await screenshots(page, "console-sign-in-es")
            assert blocked.urls == [], blocked.urls

    events = await world.events_of(intake, number)
    worked = [e for e in events if e.actor.kind == "agent"]
    assert [e.type for e in worked] == [
        "request.status.changed",
        "request.comment.added",
        "request.assigned",
        "request.priority.changed",
        "request.visit.scheduled",
        "request.status.changed",
    ]
    assert {e.actor.id for e in worked} == {str(world.agent.staff_id)}
    assert worked[-1].payload.status.value == "closed"
    assert worked[-1].payload.public_note == f"Report {number} is fixed. Thank you for telling us."
