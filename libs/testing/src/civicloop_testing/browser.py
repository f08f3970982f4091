"""Pages tested in a real browser: Debian's `chromium` (`make browser-deps` installs it) driven by Playwright.

A pytest plugin (the `civicloop-browser` entry point), its fixtures async like the rest of the suite:
- `browser`: one headless Chromium for the whole run, launched from Debian's binary (`executable_path`; Playwright's
  own browser builds are never downloaded). `CIVICLOOP_CHROMIUM` names another binary.
- `page` (JavaScript on) and `page_without_javascript`: a fresh context each, closed after the test;
  `open_page(javascript=..., viewport=...)` for anything else.
- `loopback_only(context)`: every request to a host other than 127.0.0.1 / localhost / ::1 is aborted and noted,
  as on a machine without internet.
- `axe_violations(page, impacts=("serious", "critical"))`: axe-core's violations of those impacts, run in the page
  (the axe script ships inside `axe-playwright-python`: no CDN); `describe_violations` for an assertion's message.
- `screenshots(page, name)`: full-page PNGs at phone (390x844) and desktop (1280x800) widths under the run's
  screenshot folder (`screenshots_dir`: `CIVICLOOP_SCREENSHOTS_DIR`, else `.run/screenshots/` of the checkout).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, Route, ViewportSize, async_playwright

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SERIOUS = ("serious", "critical")


def chromium_executable() -> str:
    """Debian's chromium (or `CIVICLOOP_CHROMIUM`); fails the test with the command that installs it."""
    chosen = os.environ.get("CIVICLOOP_CHROMIUM") or shutil.which("chromium")
    if not chosen or not Path(chosen).exists():
        pytest.fail("Debian's chromium is not installed: run `make browser-deps` (apt-get install chromium)")
    return chosen


def screenshots_dir(root: Path) -> Path:
    """Where the screenshots of this run go: `CIVICLOOP_SCREENSHOTS_DIR`, else `<root>/.run/screenshots`."""
    env = os.environ.get("CIVICLOOP_SCREENSHOTS_DIR")
    folder = Path(env) if env else root / ".run" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class BlockedRequests:
    """The URLs a page asked for outside the loopback, each aborted."""

    urls: list[str] = field(default_factory=list)


async def loopback_only(context: BrowserContext) -> BlockedRequests:
    """Aborts every request of `context` to a host off this machine, as a network without internet would."""
    blocked = BlockedRequests()

    async def route(r: Route) -> None:
        url = r.request.url
        host = urlsplit(url).hostname or ""
        if urlsplit(url).scheme in ("data", "blob") or host in LOOPBACK_HOSTS:
            await r.continue_()
        else:
            blocked.urls.append(url)
            await r.abort("internetdisconnected")

    await context.route("**/*", route)
    return blocked


async def axe_violations(page: Page, impacts: Iterable[str] = SERIOUS) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, those of the given impacts only."""
    wanted = set(impacts)
    results = await Axe().run(page)
    violations = cast(list[dict[str, Any]], results.response["violations"])
    return [v for v in violations if v.get("impact") in wanted]


def describe_violations(violations: Sequence[dict[str, Any]]) -> str:
    """One line per violation and up to three of its elements: what an assertion's message shows."""
    lines = []
    for v in violations:
        targets = [", ".join(map(str, node.get("target", []))) for node in v.get("nodes", [])[:3]]
        lines.append(f"{v['id']} ({v.get('impact')}): {v.get('help')} at {'; '.join(targets)}")
    return "\n".join(lines)


# The elements whose right edge passes the viewport's (the deepest ones: what widens the page), as selectors.
_WIDER_THAN_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  // Inside a region that scrolls, only an absolutely placed element escapes it (when its containing block is
  // outside the region); anything else there scrolls with the region and does not widen the page.
  const clipped = (e) => {
    const escapes = getComputedStyle(e).position === "absolute";
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (escapes && style.position !== "static") return false;
      if (!escapes && style.overflowX !== "visible") return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll("*")].filter((e) => {
    const box = e.getBoundingClientRect();
    return box.right > width + 1 && box.width > 0 && getComputedStyle(e).position !== "fixed" && !clipped(e);
  });
  const deepest = wide.filter((e) => !wide.some((other) => other !== e && e.contains(other)));
  return deepest.slice(0, 5).map((e) => {
    const id = e.id ? "#" + e.id : "";
    const cls = typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\\s+/).join(".") : "";
    return `${e.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(e.getBoundingClientRect().right)} px)`;
  });
}"""


class PageWiderThanViewport(AssertionError):
    """A page scrolls sideways at a width it is shown at: something in it does not fit."""


async def wider_than_viewport(page: Page) -> list[str]:
    """What makes the page wider than its viewport, as the page is now (empty when it fits)."""
    return cast(list[str], await page.evaluate(_WIDER_THAN_VIEWPORT))


async def take_screenshots(page: Page, folder: Path, name: str) -> list[Path]:
    """Full-page PNGs `<name>-phone.png` and `<name>-desktop.png`; the page's viewport is put back after. A page
    wider than either width fails (`PageWiderThanViewport`, naming what widens it) after both are written."""
    before = page.viewport_size
    written = []
    too_wide: list[str] = []
    try:
        for width_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            await page.set_viewport_size(size)
            path = folder / f"{name}-{width_name}.png"
            await page.screenshot(path=str(path), full_page=True)
            written.append(path)
            too_wide += [f"{width_name}: {what}" for what in await wider_than_viewport(page)]
    finally:
        if before is not None:
            await page.set_viewport_size(before)
    if too_wide:
        raise PageWiderThanViewport(f"{name} scrolls sideways: " + "; ".join(too_wide))
    return written


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_executable(), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


OpenPage = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """`await open_page(javascript=True, viewport=DESKTOP)`: a page in a context of its own, closed after the test
    (`await loopback_only(page.context)` before the first navigation cuts it off from everything but this machine)."""
    contexts: list[BrowserContext] = []

    async def open_one(*, javascript: bool = True, viewport: ViewportSize = DESKTOP) -> Page:
        context = await browser.new_context(java_script_enabled=javascript, viewport=viewport, locale="en-US")
        contexts.append(context)
        return await context.new_page()

    yield open_one
    for context in contexts:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(open_page: OpenPage) -> Page:
    return await open_page(javascript=True)


@pytest_asyncio.fixture(loop_scope="session")
async def page_without_javascript(open_page: OpenPage) -> Page:
    return await open_page(javascript=False)


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Callable[[Page, str], Awaitable[list[Path]]]:
    """`await screenshots(page, "name")`: the phone and desktop PNGs, their folder printed once per test."""
    folder = screenshots_dir(request.config.rootpath)

    async def take(page: Page, name: str) -> list[Path]:
        paths = await take_screenshots(page, folder, name)
        print(f"screenshots: {', '.join(str(p) for p in paths)}")
        return paths

    return take
