"""Follow one request in the browser, from report to fix, against a running `make run` (`make walkthrough`).

What README.md's "Follow one request in the browser" tells a newcomer to do, done by Debian's chromium driven by
Playwright: a resident reports a pothole on intake's /report page and chooses text messages; the receipt text shows
in the local SMS outbox; the resident tracks the request with the one-time code that came by text; the demo agent
signs in to the console (password and TOTP from .run/secrets/), finds the request in the queue, previews who will be
notified and acknowledges it with a public note; Street Services' demo work-order system receives it, assigns it and
fixes it, the poller brings each status back and the resident is texted each time; the track page and the public
page show it fixed; the admin pages open.

Each step is printed as it goes, with screenshots at phone and desktop widths written to
.run/screenshots/walkthrough-*.png. A step that does not happen within its bound stops the walk: the step is named
and the exit status is 1 (2 when the browser or the demo account is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pyotp
import pytest
from civicloop_testing.browser import chromium_executable, take_screenshots
from civicloop_testing.polling import eventually
from playwright.async_api import Browser, Page, async_playwright, expect
from playwright.async_api import Error as BrowserError

ROOT = Path(__file__).resolve().parents[2]
AGENT_EMAIL = "agent@demo.civicloop.example"
RESIDENT_PHONE = "(213) 555-0148"
RESIDENT_E164 = "+12135550148"
ADDRESS = "2111 W Bellvue Ave"
CODE_TEXT = re.compile(r"CivicLoop: your code is (\d{6})\.")
NUMBER = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}")
T = TypeVar("T")


class StepFailed(Exception):
    """A step did not happen (within its bound)."""


@dataclass
class Walk:
    """Where everything is, how long each step may take, and what the walk has learnt so far."""

    intake: str
    public: str
    outbox: str
    workorders: str
    secrets: Path
    screenshots: Path
    bound_s: float
    fix_bound_s: float
    number: str = ""
    texts_seen: int = 0
    potholes_resolved_before: int = 0
    shots: list[Path] = field(default_factory=list)

    # -- what the resident's phone received -----------------------------------------------------------------------

    def texts(self) -> list[str]:
        """The bodies of the texts the local SMS outbox holds for the resident's phone, oldest first."""
        answer = httpx.get(self.outbox, headers={"Accept": "application/json"}, timeout=10)
        answer.raise_for_status()
        return [m["body"] for m in answer.json() if m["to"] == RESIDENT_E164]

    async def text_about(self, words: str, what: str, bound: float | None = None) -> str:
        """The first text to the resident, newer than those already seen, naming the request and holding `words`."""

        async def arrived() -> str | None:
            bodies = await asyncio.to_thread(self.texts)
            for k, body in enumerate(bodies[self.texts_seen :], start=self.texts_seen):
                if self.number in body and words in body:
                    self.texts_seen = k + 1
                    return body
            return None

        return await within(arrived, bound or self.bound_s, what)

    async def shoot(self, page: Page, name: str) -> None:
        """The page at phone and desktop widths, `walkthrough-<nn>-<name>-{phone,desktop}.png`, numbered in order."""
        written = await take_screenshots(
            page, self.screenshots, f"walkthrough-{len(self.shots) // 2 + 1:02d}-{name}"
        )
        self.shots.extend(written)
        say(f"   screenshots: {', '.join(p.name for p in written)}")


def say(line: str) -> None:
    print(line, flush=True)


async def within(probe: Callable[[], Awaitable[T | None]], bound: float, what: str) -> T:
    """`probe`'s first truthy answer within `bound` seconds; StepFailed naming `what` otherwise."""
    try:
        return await eventually(probe, timeout=bound, what=what, interval=0.5)  # type: ignore[arg-type]
    except AssertionError as e:
        raise StepFailed(str(e)) from None


async def shown(check: Awaitable[None], what: str) -> None:
    """A Playwright expectation, failing the step with `what` when it does not come true."""
    try:
        await check
    except AssertionError as e:
        raise StepFailed(f"{what}: {str(e).splitlines()[0]}") from None


# -- the steps ------------------------------------------------------------------------------------------------------


async def report(walk: Walk, page: Page) -> None:
    walk.potholes_resolved_before = await potholes_resolved(walk, page) or 0
    await page.goto(f"{walk.intake}/report", wait_until="load")
    await shown(expect(page.locator("h1")).to_have_text("Report a problem"), "the report page")
    await shown(
        expect(page.locator("#f-service_code option[value=pothole]")).to_have_count(1),
        "the report page offering Pothole (is the demo seeded?)",
    )
    await page.select_option("#f-service_code", "pothole")
    await page.fill("#f-address", ADDRESS)
    await page.click("#find-address")
    first_place = page.locator("#places button").first
    await shown(expect(first_place).to_be_visible(), f"geo finding {ADDRESS!r}")
    await first_place.click()
    await shown(expect(page.locator("#f-lat")).not_to_have_value(""), "the place chosen")
    await page.fill("#f-description", "A deep pothole in the right lane, by the bus stop")
    await page.fill("#f-name", "Marta Ruiz")
    await page.fill("#f-phone", RESIDENT_PHONE)
    await page.check("input[name=preferred_channel][value=sms]")
    await walk.shoot(page, "report")
    await page.click("#send")
    try:
        await page.wait_for_url(re.compile(r"/report/sent\?number="), timeout=walk.bound_s * 1000)
    except Exception as e:
        raise StepFailed(f"the answer page after sending: {str(e).splitlines()[0]}") from None
    walk.number = (await page.inner_text("#request-number")).strip()
    if not NUMBER.fullmatch(walk.number):
        raise StepFailed(f"the answer page shows no request number ({walk.number!r})")
    say(f"   request {walk.number}, as the answer page shows")
    await walk.shoot(page, "report-sent")


async def receipt(walk: Walk, page: Page) -> None:
    body = await walk.text_about("received", "the receipt text in the SMS outbox")
    say(f"   text: {body}")
    await page.goto(walk.outbox, wait_until="load")
    await walk.shoot(page, "sms-outbox")


async def track(walk: Walk, page: Page) -> None:
    await page.goto(f"{walk.intake}/track?number={walk.number}", wait_until="load")
    await page.fill("#f-contact", RESIDENT_PHONE)
    await walk.shoot(page, "track")
    await page.click("form[action='/track/code'] button[type=submit]")
    await shown(expect(page.locator("#f-code")).to_be_visible(), "the track page asking for the code")

    async def code() -> str | None:
        found = [m.group(1) for b in await asyncio.to_thread(walk.texts) if (m := CODE_TEXT.search(b))]
        return found[-1] if found else None

    one_time = await within(code, walk.bound_s, "the one-time code in the SMS outbox")
    say(f"   the code came by text: {one_time}")
    walk.texts_seen = len(await asyncio.to_thread(walk.texts))
    await page.fill("#f-code", one_time)
    await page.click("form[action='/track/open'] button[type=submit]")
    await shown(expect(page.locator("h1")).to_contain_text(walk.number), "the request on the track page")
    await shown(expect(page.locator("dl.facts")).to_contain_text("Open"), "the track page showing Open")
    await walk.shoot(page, "track-open")


async def sign_in(walk: Walk, page: Page) -> None:
    password = (walk.secrets / "demo-agent-password").read_text().strip()
    totp = pyotp.TOTP((walk.secrets / "demo-agent-totp-secret").read_text().strip())
    await page.goto(f"{walk.intake}/console", wait_until="load")
    await shown(expect(page.locator("h1")).to_have_text("Sign in"), "the console's sign-in page")
    await page.fill("#s-email", AGENT_EMAIL)
    await page.fill("#s-password", password)
    await page.fill("#s-code", totp.now())
    await walk.shoot(page, "console-sign-in")
    await page.keyboard.press("Enter")
    await shown(
        expect(page.locator("h1")).to_have_text("Queue"),
        "the queue after signing in (do .run/secrets/ hold the demo agent's password and TOTP secret?)",
    )


async def queue(walk: Walk, page: Page) -> None:
    link = page.locator(f"a:text-is('{walk.number}')")

    async def listed() -> bool:
        await page.goto(f"{walk.intake}/console/queue", wait_until="load")
        return await link.count() == 1

    await within(listed, walk.bound_s, f"{walk.number} in the console's queue")
    await walk.shoot(page, "console-queue")
    await link.click()
    await shown(expect(page.locator("h1")).to_contain_text(walk.number), "the request's page in the console")
    await shown(expect(page.locator("#status")).to_have_text("Open"), "the request's status Open")
    await walk.shoot(page, "console-request")


async def acknowledge(walk: Walk, page: Page) -> None:
    form = page.locator(f"form[action^='/console/requests/{walk.number}/acknowledge']")
    await form.locator("textarea[name=public_note]").fill(
        "Thank you: Street Services will look at it this week."
    )
    await form.locator("button[name=preview]").click()
    preview = page.locator("section.preview")
    await shown(expect(preview).to_contain_text(walk.number), "the 'who will be notified' preview")
    say(f"   preview: {' '.join((await preview.inner_text()).split())}")
    await walk.shoot(page, "console-preview")
    form = page.locator(f"form[action^='/console/requests/{walk.number}/acknowledge']")
    await form.locator("button[type=submit]:not([name])").click()
    await shown(expect(page.locator("p.done")).to_be_visible(), "the console saying it is done")
    await shown(expect(page.locator("#status")).to_have_text("Acknowledged"), "the status Acknowledged")
    await walk.shoot(page, "console-acknowledged")
    body = await walk.text_about("acknowledged", "the acknowledgement's text in the SMS outbox")
    say(f"   text: {body}")


async def work_order(walk: Walk, page: Page, status: str, words: str, step_name: str) -> None:
    """The work-order list shows the request's work order in `status`; the resident's text about it arrives."""
    row = page.locator("tr", has=page.locator(f"td:text-is('{walk.number}')"))

    async def listed() -> bool:
        await page.goto(walk.workorders, wait_until="load")
        return await row.count() == 1 and status in await row.inner_text()

    await within(listed, walk.fix_bound_s, f"{walk.number}'s work order {status!r} at {walk.workorders}")
    say(f"   work order: {' | '.join((await row.inner_text()).split(chr(9)))}")
    await walk.shoot(page, step_name)
    body = await walk.text_about(words, f"the text about {status!r} in the SMS outbox", walk.fix_bound_s)
    say(f"   text: {body}")


async def fixed(walk: Walk, page: Page) -> None:
    async def closed() -> bool:
        await page.goto(f"{walk.intake}/track?number={walk.number}", wait_until="load")
        facts = page.locator("dl.facts")
        return await facts.count() == 1 and "Closed" in await facts.inner_text()

    await within(closed, walk.bound_s, "the track page showing Closed")
    await walk.shoot(page, "track-closed")


async def console_closed(walk: Walk, page: Page) -> None:
    await page.goto(f"{walk.intake}/console/requests/{walk.number}", wait_until="load")
    await shown(expect(page.locator("#status")).to_contain_text("Closed"), "the console's request Closed")
    await walk.shoot(page, "console-closed")


PUBLIC_CACHE_S = 60  # public-projections' default CIVICLOOP_PUBLIC_CACHE_S


async def potholes_resolved(walk: Walk, page: Page) -> int | None:
    """The public page's count of potholes resolved in the last 7 days (None before its first pothole)."""
    # The page is served from memory for a minute and says so to caches (CIVICLOOP_PUBLIC_CACHE_S): a query of its
    # own each time keeps the browser's cache out of it; the service's own minute is in the step's bound.
    await page.goto(f"{walk.public}/public?at={time.monotonic_ns()}", wait_until="load")
    row = page.locator("tr", has=page.locator("th:text-is('pothole'), th:text-is('Pothole')"))
    if await row.count() != 1:
        return None
    cells = await row.locator("td").all_inner_texts()
    return int(cells[1]) if len(cells) > 1 and cells[1].strip().isdigit() else None


async def public(walk: Walk, page: Page) -> None:
    async def resolved() -> bool:
        now = await potholes_resolved(walk, page)
        return now is not None and now > walk.potholes_resolved_before

    await within(
        resolved, walk.bound_s + PUBLIC_CACHE_S, "the public page counting one more pothole resolved"
    )
    row = page.locator("tr", has=page.locator("th:text-is('pothole'), th:text-is('Pothole')"))
    say(f"   public page, potholes: {' | '.join((await row.inner_text()).split())}")
    await walk.shoot(page, "public")


async def admin(walk: Walk, page: Page) -> None:
    for section in ("staff", "bodies", "catalogue", "partners", "selfheal", "posters"):
        await page.goto(f"{walk.intake}/console/admin/{section}", wait_until="load")
        await shown(expect(page.locator("h1")).to_be_visible(), f"the admin page {section}")
        if await page.locator("p.notice[role=alert]").count():
            raise StepFailed(
                f"the admin page {section} says: {await page.locator('p.notice').first.inner_text()}"
            )
        await walk.shoot(page, f"admin-{section}")


# -- the walk -------------------------------------------------------------------------------------------------------


async def walk_through(walk: Walk, browser: Browser) -> None:
    resident_context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    agent_context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    resident, agent = await resident_context.new_page(), await agent_context.new_page()
    for page in (resident, agent):
        page.set_default_timeout(walk.bound_s * 1000)
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("the resident reports a pothole at /report, by text message", lambda: report(walk, resident)),
        ("the receipt text arrives in the SMS outbox", lambda: receipt(walk, resident)),
        ("the resident tracks it at /track with the code that came by text", lambda: track(walk, resident)),
        ("the demo agent signs in to /console (password and TOTP)", lambda: sign_in(walk, agent)),
        ("the request is in the console's queue", lambda: queue(walk, agent)),
        (
            "the agent previews who will be notified, then acknowledges with a public note",
            lambda: acknowledge(walk, agent),
        ),
        (
            "Street Services' work-order system assigns it; the resident is texted",
            lambda: work_order(walk, agent, "open (assigned)", "assigned", "workorders-assigned"),
        ),
        (
            "the crew fixes it; the poller brings it back, the resident is texted",
            lambda: work_order(walk, agent, "closed (fixed)", "closed", "workorders-fixed"),
        ),
        ("the track page shows it closed", lambda: fixed(walk, resident)),
        ("the console shows it closed by the department", lambda: console_closed(walk, agent)),
        ("the public page counts it resolved", lambda: public(walk, resident)),
        ("the admin pages", lambda: admin(walk, agent)),
    ]
    for k, (title, run) in enumerate(steps, start=1):
        started = time.monotonic()
        say(f"step {k}/{len(steps)}: {title}")
        try:
            await run()
        except StepFailed as e:
            raise StepFailed(f"step {k} ({title}) did not happen: {e}") from None
        except BrowserError as e:  # a page that did not load or answer in time
            raise StepFailed(f"step {k} ({title}) did not happen: {str(e).splitlines()[0]}") from None
        say(f"   done in {time.monotonic() - started:.0f} s")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intake", default=env("WALKTHROUGH_INTAKE_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--public", default=env("WALKTHROUGH_PUBLIC_URL", "http://127.0.0.1:8002"))
    sms = env("CIVICLOOP_LOCAL_SMS_PORT", "24082")
    parser.add_argument(
        "--outbox", default=env("WALKTHROUGH_OUTBOX_URL", f"http://127.0.0.1:{sms}/local/outbox")
    )
    orders = env("CIVICLOOP_LOCAL_WORKORDERS_PORT", "24084")
    parser.add_argument(
        "--workorders", default=env("WALKTHROUGH_WORKORDERS_URL", f"http://127.0.0.1:{orders}/")
    )
    run_dir = Path(env("CIVICLOOP_RUN_DIR", str(ROOT / ".run")))
    parser.add_argument("--secrets", type=Path, default=run_dir / "secrets", help="the demo agent's secrets")
    parser.add_argument("--screenshots", type=Path, default=run_dir / "screenshots")
    parser.add_argument(
        "--bound-s",
        type=float,
        default=float(env("WALKTHROUGH_BOUND_S", "60")),
        help="how long a step may take (seconds)",
    )
    step = float(env("CIVICLOOP_LOCAL_DEMO_STEP_S", "60"))
    parser.add_argument(
        "--fix-bound-s",
        type=float,
        default=float(env("WALKTHROUGH_FIX_BOUND_S", str(3 * step + 120))),
        help="how long the work-order system's steps may take, with the poller's round (seconds)",
    )
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    try:
        chromium = chromium_executable()
    except pytest.fail.Exception as e:
        say(str(e))
        return 2
    if not (args.secrets / "demo-agent-password").exists():
        say(f"no demo agent's secrets in {args.secrets}: run `make run` first (it creates the demo agent)")
        return 2
    args.screenshots.mkdir(parents=True, exist_ok=True)
    walk = Walk(
        intake=args.intake.rstrip("/"),
        public=args.public.rstrip("/"),
        outbox=args.outbox,
        workorders=args.workorders,
        secrets=args.secrets,
        screenshots=args.screenshots,
        bound_s=args.bound_s,
        fix_bound_s=args.fix_bound_s,
    )
    say(
        f"Following one request in Debian's chromium ({chromium}); screenshots in {args.screenshots}/walkthrough-*"
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            await walk_through(walk, browser)
        except StepFailed as e:
            say(f"FAILED: {e}")
            return 1
        except (httpx.HTTPError, OSError) as e:
            say(f"FAILED: a page or the outbox did not answer ({e!r}); is `make run` running?")
            return 1
        finally:
            await browser.close()
    say(
        f"Request {walk.number} followed from report to fix; {len(walk.shots)} screenshots in {args.screenshots}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
