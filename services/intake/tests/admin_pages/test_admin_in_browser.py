"""The admin pages in Debian's chromium, on the real app, database and broker: an admin signs in, opens the staff
page from the console's menu, and by keyboard alone defines a team and creates an account; axe-core finds no serious
or critical violation, there and on the selfheal, poster (a poster downloaded) bodies (a body paused, through outbound's real app) and
catalogue and partners pages (a service defined and a key made, through the gateway's real app); screenshots at phone and desktop widths go to .run/screenshots/."""

from __future__ import annotations

from uuid import uuid4

import pytest
from admin_harness import admin_world, define_body, gateway_served, outbound_served, served_replica
from civicloop_events.payloads import BodyDefined, SendMethod
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.polling import eventually
from console_harness import PASSWORD
from intake_harness import Harness
from playwright.async_api import Page, expect

pytestmark = pytest.mark.integration


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)


async def test_an_admin_defines_a_team_and_creates_an_account_by_keyboard(
    intake: Harness, open_page: OpenPage, screenshots, pg_admin_dsn: str
):
    tag = uuid4().hex[:8]  # the tests share the jurisdiction's staff and teams: this test's own
    email, team = f"nora.{tag}@county.example", f"roads-{tag}"
    body = BodyDefined(
        body_id=f"roads-{tag}",
        name="Roads and bridges",
        send_method=SendMethod.email,
        service_codes=["ADMIN-PAGES-ONLY"],
        email="roads@county.example",
    )
    await define_body(intake, body)
    async with admin_world(intake) as (world, smtp):
        with (
            outbound_served(world, intake) as outbound_url,
            gateway_served(world, intake, pg_admin_dsn) as gateway_url,
            served_replica(world, admin_outbound_url=outbound_url, admin_gateway_url=gateway_url) as base,
        ):
            page = await open_page(javascript=True)
            blocked = await loopback_only(page.context)
            await page.goto(f"{base}/console/sign-in", wait_until="load")
            await page.fill("#s-email", world.agent.email)
            await page.fill("#s-password", PASSWORD)
            await page.fill("#s-code", world.agent.totp.now())
            await page.keyboard.press("Enter")  # an admin only: the admin pages, not a queue they cannot open
            await expect(page.locator("h1")).to_have_text("Staff and roles")
            await expect(page.locator("nav.console a:text-is('Administration')")).to_be_visible()
            await _no_serious_violations(page)

            # A team, by keyboard alone: its id, its name, Enter.
            await page.locator("#team-id").focus()
            await page.keyboard.type(team)
            await page.keyboard.press("Tab")
            await expect(page.locator("#team-name")).to_be_focused()
            await page.keyboard.type("Roads and bridges")
            await page.keyboard.press("Enter")
            await expect(page.locator("p.done")).to_contain_text("The team was saved.")

            async def team_listed() -> bool:
                await page.reload(wait_until="load")
                return await page.locator(f"#new-team-{team}").count() == 1

            await eventually(team_listed, timeout=30, what="the team in the form")

            # An account, by keyboard alone: email, name, a role (Space ticks it), its team, Enter.
            await page.locator("#new-email").focus()
            await page.keyboard.type(email)
            await page.keyboard.press("Tab")
            await expect(page.locator("#new-name")).to_be_focused()
            await page.keyboard.type("Nora Field")
            await page.keyboard.press("Tab")
            await expect(page.locator("#new-role-agent")).to_be_focused()
            await page.keyboard.press("Space")
            await page.locator(f"#new-team-{team}").focus()
            await page.keyboard.press("Space")
            await page.locator("#new-invite").focus()
            await page.keyboard.press("Enter")  # Enter in a form's field sends the form
            await expect(page.locator("p.done")).to_contain_text("The account was created.")

            async def account_listed() -> bool:
                await page.reload(wait_until="load")
                return await page.locator(f"table.accounts td:text-is('{email}')").count() == 1

            await eventually(account_listed, timeout=30, what="the account in the list")
            await expect(page.locator("table.accounts")).to_contain_text("Roads and bridges")  # its team
            await _no_serious_violations(page)
            await screenshots(page, "admin-staff")

            await page.click("nav.admin a:text-is('Self-heal')")
            await expect(page.locator("h1")).to_have_text("Self-heal")
            await expect(page.locator("#cron-token")).to_be_visible()
            await _no_serious_violations(page)
            await screenshots(page, "admin-selfheal")

            await page.click("nav.admin a:text-is('Posters')")
            await expect(page.locator("h1")).to_have_text("Posters")
            await page.fill("#p-id", f"kiosk-{tag}")
            await page.select_option("#p-kind", "kiosk")
            await page.fill("#p-title", "Library kiosk")
            async with page.expect_download() as downloading:
                await page.click("form[action^='/console/admin/posters'] button[type=submit]")
            download = await downloading.value
            assert download.suggested_filename == f"poster-kiosk-{tag}.pdf"
            await _no_serious_violations(page)
            await screenshots(page, "admin-posters")

            await page.click("nav.admin a:text-is('Bodies')")
            await expect(page.locator("h1")).to_have_text("Bodies")

            async def body_listed() -> bool:
                await page.reload(wait_until="load")
                return await page.locator(f"#body-roads-{tag}").count() == 1

            await eventually(body_listed, timeout=30, what="the body listed by outbound")
            await page.fill(
                f"form[action^='/console/admin/bodies/roads-{tag}/pause'] input[name=reason]", "Storm"
            )
            await page.click(f"form[action^='/console/admin/bodies/roads-{tag}/pause'] button")
            await expect(page.locator("p.done")).to_be_visible()

            async def body_paused() -> bool:
                await page.reload(wait_until="load")
                return "Paused (Storm)" in await page.locator(f"#body-roads-{tag}").inner_text()

            await eventually(body_paused, timeout=30, what="the body paused")
            await _no_serious_violations(page)
            await screenshots(page, "admin-bodies")

            await page.click("nav.admin a:text-is('Catalogue')")
            await expect(page.locator("h1")).to_have_text("Catalogue")
            await page.fill("#svc-code", f"GRAFFITI-{tag}")
            await page.fill("#svc-name", "Graffiti")
            await page.fill("#svc-group", "streets")
            await page.click("section[aria-labelledby=define-title] button[type=submit]")
            await expect(page.locator("p.done")).to_contain_text("The service was defined")

            async def service_listed() -> bool:
                await page.reload(wait_until="load")
                return await page.locator(f"#service-GRAFFITI-{tag}").count() == 1

            await eventually(service_listed, timeout=30, what="the service listed by the gateway")
            await _no_serious_violations(page)
            await screenshots(page, "admin-catalogue")

            await page.click('nav.admin a:text-is("Partners\' keys")')
            await expect(page.locator("h1")).to_have_text("Partners' keys")
            await page.fill("#pk-client", f"app-{tag}")
            await page.fill("#pk-name", "Neighbour App")
            await page.click("section[aria-labelledby=new-key-title] button[type=submit]")
            await expect(page.locator("#issued-key")).to_contain_text("o311_")
            await _no_serious_violations(page)
            await screenshots(page, "admin-partners")

            await page.goto(f"{base}/console/admin/staff?lang=es", wait_until="load")
            await expect(page.locator("h1")).to_have_text("Personal y roles")
            await _no_serious_violations(page)
            await screenshots(page, "admin-staff-es")
            assert blocked.urls == [], blocked.urls
    assert smtp.to(email), "the invitation was mailed"
