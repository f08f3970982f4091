"""The pages a newcomer opens beside CivicLoop's own during the demo (README.md, "Follow one request in the
browser"), in Debian's chromium: the local SMS outbox (a page for a browser, JSON for every other client) and the demo
work-order system's list. Each fits a phone's width (a wide table scrolls in its own region, the page does not), and
axe-core finds no serious or critical violation; screenshots `demo-*` at phone and desktop widths."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from civicloop_testing.browser import PHONE, OpenPage, axe_violations, describe_violations
from civicloop_testing.demo_workorders import Pace, Systems, WorkOrder, web_app
from civicloop_testing.threaded_server import serve_in_thread
from civicloop_testing.twilio_server import OUTBOX_PATH, twilio_server
from civicloop_testing.vonage_server import vonage_server
from playwright.async_api import Page, expect

OUR_NUMBER = "+15005550006"
ACCOUNT = "AC" + "a" * 32
RECEIPT = (
    "We received your report 196C-4A2F. Thank you.\nFollow it at http://127.0.0.1:8001/track?number=196C-4A2F"
)


async def _fits_a_phone(page: Page, name: str, screenshots) -> None:
    await page.set_viewport_size(PHONE)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than a phone"
    serious = await axe_violations(page)
    assert serious == [], f"{name}: {describe_violations(serious)}"
    await screenshots(page, name)


async def test_the_sms_outbox_is_a_page_in_a_browser_newest_first_and_json_for_a_program(
    open_page: OpenPage, screenshots
) -> None:
    with twilio_server(account_sid=ACCOUNT, auth_token="local-token", numbers=(OUR_NUMBER,)) as server:
        http = httpx.AsyncClient()
        for body in ("CivicLoop: your code is 168760.", RECEIPT):
            sent = await http.post(
                f"{server.url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
                auth=(ACCOUNT, "local-token"),
                data={"To": "+12135550148", "From": OUR_NUMBER, "Body": body},
            )
            assert sent.status_code == 201, sent.text

        as_json = (await http.get(f"{server.url}{OUTBOX_PATH}")).json()
        await http.aclose()
        assert [m["body"] for m in as_json] == ["CivicLoop: your code is 168760.", RECEIPT]

        page = await open_page(javascript=True)
        await page.goto(f"{server.url}{OUTBOX_PATH}", wait_until="load")
        await expect(page.locator("h1")).to_have_text("Local SMS outbox")
        rows = page.locator("tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.first.locator("td").nth(0)).to_have_text(RECEIPT)  # newest first, its lines kept
        await expect(rows.nth(1)).to_contain_text("+12135550148")
        await _fits_a_phone(page, "demo-sms-outbox", screenshots)


async def test_the_vonage_outbox_is_a_page_too(open_page: OpenPage) -> None:
    with vonage_server() as server:
        page = await open_page(javascript=True)
        await page.goto(f"{server.url}{OUTBOX_PATH}", wait_until="load")
        await expect(page.locator("main")).to_contain_text("No text sent yet.")
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{server.url}{OUTBOX_PATH}")).json() == []


async def test_the_work_order_list_fits_a_phone(open_page: OpenPage, screenshots, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    systems = Systems.load(tmp_path / "state.json", Pace(step_s=60, own_every_s=0), now)
    systems.receive_order(
        WorkOrder(
            "WO-1005", "RD-POT", "Deep pothole", 34.07, -118.27, "2111 W Bellevue Ave", now, "196C-4A2F"
        )
    )
    systems.receive_job("17NB-814P", "Homeless Encampment", now)
    with serve_in_thread(web_app(systems)) as url:
        page = await open_page(javascript=True)
        await page.goto(f"{url}/", wait_until="load")
        await expect(page.locator("tbody tr").first).to_contain_text("196C-4A2F")
        await _fits_a_phone(page, "demo-workorders", screenshots)
