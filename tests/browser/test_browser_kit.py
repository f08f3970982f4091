"""The browser kit itself (`civicloop_testing.browser`) on small pages served on 127.0.0.1: JavaScript on and off,
the loopback-only network, axe-core's findings filtered by impact, and the phone and desktop screenshots."""

from __future__ import annotations

import struct
from pathlib import Path

from civicloop_testing.browser import (
    DESKTOP,
    PHONE,
    OpenPage,
    axe_violations,
    describe_violations,
    loopback_only,
    take_screenshots,
)
from civicloop_testing.threaded_server import serve_in_thread
from playwright.async_api import Page
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

SCRIPTED = """<!DOCTYPE html><html lang="en"><head><title>Scripted</title></head>
<body><main><h1 id="state">served</h1>
<script>document.getElementById("state").textContent = "scripted";</script></main></body></html>"""
# An image without a text alternative is critical for axe (image-alt); a button with no name is critical too.
INACCESSIBLE = """<!DOCTYPE html><html lang="en"><head><title>Broken</title></head>
<body><main><h1>Broken</h1><img src="/pixel.png"><button></button></main></body></html>"""
ACCESSIBLE = """<!DOCTYPE html><html lang="en"><head><title>Fine</title></head>
<body><main><h1>Fine</h1><p>Plain text, black on white.</p></main></body></html>"""
# A page asking another host for a script and an image: both must be stopped before they leave the machine.
REACHES_OUT = """<!DOCTYPE html><html lang="en"><head><title>Out</title>
<script src="https://cdn.example.org/lib.js"></script></head>
<body><main><h1>Out</h1><img alt="remote" src="http://203.0.113.7/x.png"><img alt="local" src="/pixel.png"></main></body></html>"""
# Taller than a phone's screen: a full-page screenshot is taller than the viewport.
TALL = """<!DOCTYPE html><html lang="en"><head><title>Tall</title></head>
<body style="margin:0"><main><h1>Tall</h1><div style="height:2000px">long</div></main></body></html>"""
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _app() -> Starlette:
    def html(body: str) -> Route:
        return Route("/" + body_name[body], lambda request: HTMLResponse(body))

    body_name = {SCRIPTED: "scripted", INACCESSIBLE: "inaccessible", ACCESSIBLE: "accessible"}
    body_name |= {REACHES_OUT: "reaches-out", TALL: "tall"}
    routes = [html(b) for b in body_name]
    routes.append(Route("/pixel.png", lambda request: Response(PIXEL, media_type="image/png")))
    return Starlette(routes=routes)


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


async def _text(page: Page) -> str:
    return await page.locator("#state").inner_text()


async def test_javascript_runs_on_the_page_and_not_on_the_page_without_it(
    page: Page, page_without_javascript: Page
) -> None:
    with serve_in_thread(_app()) as base:
        await page.goto(f"{base}/scripted")
        await page_without_javascript.goto(f"{base}/scripted")
        assert await _text(page) == "scripted"
        assert await _text(page_without_javascript) == "served"


async def test_loopback_only_stops_every_request_off_this_machine(open_page: OpenPage) -> None:
    page = await open_page()
    blocked = await loopback_only(page.context)
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    with serve_in_thread(_app()) as base:
        await page.goto(f"{base}/reaches-out", wait_until="load")
        assert sorted(blocked.urls) == ["http://203.0.113.7/x.png", "https://cdn.example.org/lib.js"]
        assert f"{base}/pixel.png" in loaded
        assert not [url for url in loaded if "example.org" in url or "203.0.113.7" in url]


async def test_axe_reports_serious_and_critical_violations_and_only_those(page: Page) -> None:
    with serve_in_thread(_app()) as base:
        await page.goto(f"{base}/inaccessible")
        found = await axe_violations(page)
        await page.goto(f"{base}/accessible")
        clean = await axe_violations(page, impacts=("minor", "moderate", "serious", "critical"))
    assert {"image-alt", "button-name"} <= {v["id"] for v in found}, describe_violations(found)
    assert all(v["impact"] in ("serious", "critical") for v in found)
    assert "image-alt" in describe_violations(found)
    assert clean == [], describe_violations(clean)


async def test_screenshots_are_written_at_phone_and_desktop_widths(page: Page, tmp_path: Path) -> None:
    with serve_in_thread(_app()) as base:
        await page.goto(f"{base}/tall")
        before = page.viewport_size
        phone, desktop = await take_screenshots(page, tmp_path, "tall")
    assert (phone.name, desktop.name) == ("tall-phone.png", "tall-desktop.png")
    phone_width, phone_height = _png_size(phone)
    desktop_width, _ = _png_size(desktop)
    assert (phone_width, desktop_width) == (PHONE["width"], DESKTOP["width"])
    assert phone_height > PHONE["height"]  # the whole page, not the first screen
    assert page.viewport_size == before
