"""The admin pages' day-to-day work in Debian's chromium, each page against the real app it calls on a loopback port:
a service's questions added and changed (the gateway), a partner key's use after the partner wrote with it (the
gateway), a report given up on a body requeued (outbound, sending by webhook to an endpoint that refuses), and
"run now" finding a stuck request (selfheal). axe-core finds no serious or critical violation on any of them;
screenshots `admin-*` at phone and desktop widths go to .run/screenshots/."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from admin_harness import (
    BodyEndpoint,
    admin_world,
    define_body,
    gateway_served,
    outbound_served,
    reported,
    selfheal_served,
    served_replica,
)
from civicloop_events.payloads import BodyDefined, SendMethod, WebhookConnection
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.events import publish_events
from civicloop_testing.polling import eventually
from civicloop_testing.threaded_server import serve_in_thread
from console_harness import PASSWORD
from intake_harness import Harness
from playwright.async_api import Page, expect
from test_admin_selfheal import _stuck_for_hours

pytestmark = pytest.mark.integration


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)


async def _reloaded_until(page: Page, selector: str, what: str, *, text: str | None = None) -> None:
    async def there() -> bool:
        await page.reload(wait_until="load")
        found = page.locator(selector)
        if await found.count() != 1:
            return False
        return text is None or text in await found.inner_text()

    await eventually(there, timeout=45, what=what)


async def test_an_admin_edits_questions_sees_key_use_requeues_and_runs_selfheal(
    intake: Harness, open_page: OpenPage, screenshots, pg_admin_dsn: str, monkeypatch
):
    monkeypatch.setenv("CIVICLOOP_SECRET_ADMIN_PAGES_WEBHOOK", "a webhook secret for the admin pages' tests")
    tag = uuid4().hex[:6]
    code, body_id, client_id = f"TREE-{tag.upper()}", f"works-{tag}", f"app-{tag}"
    service_code = f"HOLE-{tag}"  # a body of an earlier test may still take the harness's pothole
    _, config, stuck = _stuck_for_hours("fallen-sign")  # no body takes it: only the report below reaches one
    await publish_events(intake.settings.kafka_bootstrap, intake.topics.jurisdiction_config, config)
    await publish_events(intake.settings.kafka_bootstrap, intake.topics.request_events, stuck)
    endpoint = BodyEndpoint()
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
        async with admin_world(intake) as (world, _):
            with (
                outbound_served(world, intake, frozenset({SendMethod.webhook})) as outbound_url,
                gateway_served(world, intake, pg_admin_dsn) as gateway_url,
                selfheal_served(world, intake, pg_admin_dsn) as (selfheal_url, _),
                served_replica(
                    world,
                    admin_outbound_url=outbound_url,
                    admin_gateway_url=gateway_url,
                    admin_selfheal_url=selfheal_url,
                ) as base,
            ):
                number = await reported(intake, service_code)
                page = await open_page(javascript=True)
                blocked = await loopback_only(page.context)
                await page.goto(f"{base}/console/sign-in", wait_until="load")
                await page.fill("#s-email", world.agent.email)
                await page.fill("#s-password", PASSWORD)
                await page.fill("#s-code", world.agent.totp.now())
                await page.keyboard.press("Enter")
                await expect(page.locator("h1")).to_have_text("Staff and roles")

                # A service, then its questions from its page.
                await page.click("nav.admin a:text-is('Catalogue')")
                await page.fill("#svc-code", code)
                await page.fill("#svc-name", "Fallen tree")
                await page.click("section[aria-labelledby=define-title] button[type=submit]")
                await _reloaded_until(page, f"#service-{code}", "the service listed by the gateway")
                await page.click(f"#service-{code} td:first-child a")
                await expect(page.locator("h1")).to_contain_text("Fallen tree")
                await expect(page.locator("main")).to_contain_text("No question yet.")
                await page.fill("#new-code", "size")
                await page.fill("#new-description", "How big is it?")
                await page.select_option("#new-datatype", "singlevaluelist")
                await page.check("#new-required")
                await page.fill("#new-values", "branch = A branch\ntrunk = A whole tree")
                await page.locator("#new-values").focus()
                await page.keyboard.press("Tab")
                await expect(
                    page.locator("section[aria-labelledby=add-question-title] button")
                ).to_be_focused()
                await page.keyboard.press("Enter")
                await expect(page.locator("p.done")).to_contain_text("The question was added")
                await _reloaded_until(
                    page, "#question-1", "the question listed", text="A branch, A whole tree"
                )
                await page.fill("#q1-values", "branch = A branch\nroots = Roots")
                await page.click("#question-1 form.console-form button[type=submit]")
                await expect(page.locator("p.done")).to_contain_text("The question was changed")
                await _reloaded_until(page, "#question-1", "the question changed", text="A branch, Roots")
                await expect(page.locator("#q1-required")).to_be_checked()
                for blank in ("#new-code", "#new-description", "#new-values"):  # the form for another, empty
                    await expect(page.locator(blank)).to_have_value("")
                await _no_serious_violations(page)
                await screenshots(page, "admin-service-questions")

                # A partner's key, used by the partner: its use on the page.
                await page.click('nav.admin a:text-is("Partners\' keys")')
                await page.fill("#pk-client", client_id)
                await page.fill("#pk-name", "Neighbour App")
                await page.click("section[aria-labelledby=new-key-title] button[type=submit]")
                key = (await page.locator("#issued-key").inner_text()).strip()
                key_id = key.split("_")[1]
                async with httpx.AsyncClient(base_url=f"{gateway_url}/open311/v2", timeout=10) as partner:
                    write = {"jurisdiction_id": "demo", "service_code": "pothole", "api_key": key}

                    async def let_in() -> bool:
                        answer = await partner.post("/requests.json", data=write)
                        return answer.status_code not in (403, 404)

                    await eventually(let_in, timeout=30, what="a write let in with the key")
                await page.goto(f"{base}/console/admin/partners", wait_until="load")
                await expect(page.locator(f"#key-{key_id} td.requests")).to_have_text("1")
                await expect(page.locator(f"#key-{key_id} td.last-used")).not_to_have_text("Never")
                await _no_serious_violations(page)
                await screenshots(page, "admin-partners-usage")

                # The report given up on the body (its endpoint refuses it), requeued from the page.
                await page.click("nav.admin a:text-is('Bodies')")
                row = f"#given-up-{body_id}-{number}"
                await _reloaded_until(page, row, "the report given up")
                await _no_serious_violations(page)
                await screenshots(page, "admin-bodies-given-up")
                endpoint.status = 200
                await page.click(f"{row} button")
                await expect(page.locator("p.done")).to_contain_text("back on the body's queue")

                async def sent() -> bool:
                    await page.reload(wait_until="load")
                    return endpoint.calls == 2 and await page.locator(row).count() == 0

                await eventually(sent, timeout=45, what="the requeued report sent")

                # Run now: selfheal finds the request stuck for hours and escalates it.
                await page.click("nav.admin a:text-is('Self-heal')")
                await page.click("form[action^='/console/admin/selfheal/run'] button")
                await expect(page.locator("section.run-report")).to_contain_text("unacknowledged")
                await expect(page.locator("section.run-report")).to_contain_text("escalate")
                await expect(page.locator("table.runs")).to_contain_text(f"admin ({world.agent.staff_id})")
                await _no_serious_violations(page)
                await screenshots(page, "admin-selfheal-run")

                await page.goto(f"{base}/console/admin/catalogue/services/{code}?lang=es", wait_until="load")
                await expect(page.locator("#add-question-title")).to_have_text("Añadir una pregunta")
                await _no_serious_violations(page)
                await screenshots(page, "admin-service-questions-es")
                assert blocked.urls == [], blocked.urls
