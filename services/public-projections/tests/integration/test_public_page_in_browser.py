"""/public in a real browser (Debian's chromium): with JavaScript off it shows the week's figures, the tables and the
map, asks nothing of the internet, and axe-core finds no serious or critical violation; screenshots at phone and
desktop widths are written for a person to look at."""

from __future__ import annotations

from datetime import UTC, datetime

from civicloop_projections.entrypoints.http import create_app
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.staff_tokens import verifier_for_tests
from civicloop_testing.threaded_server import serve_in_thread
from projection_events import new_jurisdiction
from projection_harness import caught_up, consumers_running
from test_public_pages import _world


async def test_public_renders_without_javascript_and_passes_axe(
    projections, request_producer, open_page: OpenPage, screenshots
):
    jurisdiction = new_jurisdiction()
    events, personal = _world(jurisdiction, datetime.now(UTC))
    positions = await request_producer.publish_many(events)
    async with consumers_running(projections):
        await caught_up(projections, projections.settings.public_consumer_name, positions)

    app = create_app(projections.settings, staff_verifier=verifier_for_tests(), start_consumers=False)
    page = await open_page(javascript=False)
    blocked = await loopback_only(page.context)
    with serve_in_thread(app, lifespan="on") as base:
        answer = await page.goto(f"{base}/public?jurisdiction_id={jurisdiction}", wait_until="load")
        assert answer is not None and answer.status == 200
        text = await page.locator("main").inner_text()
        assert "Filed" in text and "Resolved" in text and "District 3" in text
        assert await page.locator("main svg circle").count() == 1
        assert await page.locator("table caption").count() >= 2
        # The skip link is the first thing a keyboard reaches, and it leads to the main content.
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement && document.activeElement.getAttribute('href')")
        assert focused and focused.startswith("#")
        html = await page.content()
        await screenshots(page, "public")
        await page.context.close()
        # axe-core is a script: it runs in a page with JavaScript on (the page itself has none to run).
        checked = await open_page(javascript=True)
        blocked_too = await loopback_only(checked.context)
        await checked.goto(f"{base}/public?jurisdiction_id={jurisdiction}", wait_until="load")
        serious = await axe_violations(checked)
        await checked.context.close()
    assert blocked_too.urls == [], blocked_too.urls
    assert blocked.urls == [], blocked.urls
    assert serious == [], describe_violations(serious)
    for value in personal:
        assert value not in html, value
