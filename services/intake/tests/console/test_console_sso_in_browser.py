"""The console's single sign-on in Debian's chromium against a real OpenID Connect provider process
(`oidc-provider-mock` on 127.0.0.1): an agent follows "Sign in with your organisation", signs in on the provider's
own page and comes back to the queue signed in; someone the provider vouches for but whose claims map to no role,
and someone whose account an admin disabled, come back to a page that says they cannot sign in here.

The console is reached as `localhost` and the provider as `127.0.0.1`: two sites, as a county's console and its
identity provider are, so the return from the provider is a cross-site navigation (SameSite cookies behave as they
will in production). axe-core on each of the console's pages; screenshots `console-sso-*`. A provider that cannot be
reached is said plainly (503), in the agent's language."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from civicloop_events.payloads.staff import DisableReason
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.oidc_provider import oidc_provider, put_person
from civicloop_testing.polling import eventually
from civicloop_testing.processes import free_port
from console_harness import console_world
from intake_harness import Harness
from playwright.async_api import Page, expect

pytestmark = pytest.mark.integration

PROVIDER_PAGE_ASSETS = "cdn.jsdelivr.net"  # the mock provider's own stylesheet, refused offline: not ours


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with oidc_provider() as issuer:
        yield issuer


def providers(issuer: str, console: str) -> str:
    return json.dumps(
        [
            {
                "jurisdiction_id": "demo",
                "issuer": issuer,
                "client_id": "civicloop-console",
                "client_secret_ref": "demo.oidc-client",
                "redirect_uri": f"{console}/console/sso/callback",
                "claims": {"roles": {"311-agents": ["agent"]}},
            }
        ]
    )


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)


async def _through_provider(page: Page, console: str, sub: str) -> None:
    """From the console's sign-in page, through the provider's login as `sub`, back to the console."""
    await page.goto(f"{console}/console/sign-in", wait_until="load")
    await page.get_by_role("link", name="Sign in with your organisation (demo)").click()
    await expect(page.locator("h1")).to_have_text("Authorize Client")  # the provider's page
    await page.fill("input[name=sub]", sub)
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(f"{console}/console/**")


async def test_an_agent_signs_in_through_the_organisations_provider(
    intake: Harness, provider: str, open_page: OpenPage, screenshots, monkeypatch
):
    monkeypatch.setenv("CIVICLOOP_SECRET_DEMO_OIDC_CLIENT", "client-secret-for-tests")
    port = free_port()
    console = f"http://localhost:{port}"
    suffix = intake.topics.prefix.strip(".")
    agent, canteen = f"agent-{suffix}", f"canteen-{suffix}"
    async with console_world(intake) as world, httpx.AsyncClient(timeout=10) as http:
        await put_person(
            http, provider, agent, {"email": f"{agent}@county.example", "groups": ["311-agents"]}
        )
        await put_person(
            http, provider, canteen, {"email": f"{canteen}@county.example", "groups": ["canteen"]}
        )
        with world.served(port=port, staff_oidc_providers=providers(provider, console)):
            page = await open_page(javascript=True)
            blocked = await loopback_only(page.context)
            await page.goto(f"{console}/console/sign-in", wait_until="load")
            await expect(
                page.get_by_role("link", name="Sign in with your organisation (demo)")
            ).to_be_visible()
            await _no_serious_violations(page)
            await screenshots(page, "console-sso-sign-in")

            await _through_provider(page, console, agent)
            await expect(page.locator("h1")).to_have_text("Queue")
            await _no_serious_violations(page)
            await screenshots(page, "console-sso-queue")
            await page.reload(wait_until="load")  # the session holds: still signed in
            await expect(page.locator("h1")).to_have_text("Queue")

            # The provider vouches for someone whose groups map to no role: no entry, and a page that says so.
            refused = await open_page(javascript=True)
            await loopback_only(refused.context)
            await _through_provider(refused, console, canteen)
            await expect(refused.locator("h1")).to_have_text("Sign in")
            notice = refused.get_by_role("alert")
            await expect(notice).to_contain_text("cannot use the console")
            await _no_serious_violations(refused)
            await screenshots(refused, "console-sso-refused")
            await refused.goto(f"{console}/console/queue", wait_until="load")
            await expect(refused.locator("h1")).to_have_text("Sign in")

            # An admin disables the agent: the provider still vouches, the console refuses.
            service = world.app.state.service
            staff_id = await service.staff.store.linked_staff(provider, agent)
            assert staff_id is not None
            assert await service.staff.admin.disable(staff_id, DisableReason.left, by=None)

            async def disabled() -> bool:
                row = await service.staff.store.account(staff_id)
                return row is not None and not row.account.active

            await eventually(disabled, what="the disable folded")
            again = await open_page(javascript=True)
            await loopback_only(again.context)
            await _through_provider(again, console, agent)
            await expect(again.get_by_role("alert")).to_contain_text("cannot use the console")

            assert [u for u in blocked.urls if PROVIDER_PAGE_ASSETS not in u] == [], blocked.urls


async def test_a_provider_that_cannot_be_reached_is_said_plainly(intake: Harness, monkeypatch):
    monkeypatch.setenv("CIVICLOOP_SECRET_DEMO_OIDC_CLIENT", "client-secret-for-tests")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with console_world(intake) as world:
        with world.served(staff_oidc_providers=providers(closed, "http://127.0.0.1:1")) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as browser:
                answer = await browser.get("/console/sso/demo/start")
                assert answer.status_code == 503, answer.text
                assert 'role="alert"' in answer.text and "cannot be reached now" in answer.text
                spanish = await browser.get("/console/sso/demo/start?lang=es")
                assert spanish.status_code == 503 and "No se puede contactar" in spanish.text
                assert (await browser.get("/console/sso/elsewhere/start")).status_code == 404
