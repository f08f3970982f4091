"""The loop, in Debian's chromium, through the real system: a resident reports a pothole with a phone's photo on
intake's `/report` page and chooses texts; an agent signs in to the console (password and TOTP) and works the request
to closed; after each step the resident opens the link in the text that just arrived and sees the update on the track
page.

Every service runs as its real app on a loopback port (`loop_world`), on the real broker and database. Texts go
through the `twilio` SDK to the local Twilio server, configured by `CIVICLOOP_SMS_*` as `make run` configures them:
the notifier's messages and intake's one-time code alike, read back from what the server received. The browsers are
cut off from everything but this machine; axe-core checks every page; screenshots `loop-*` at phone and desktop
widths go to `.run/screenshots/`.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from civicloop_events import ServiceDefined
from civicloop_events.payloads import NotificationChannel, ServiceRequestSubmitted
from civicloop_testing.browser import (
    PHONE,
    OpenPage,
    axe_violations,
    describe_violations,
    loopback_only,
)
from civicloop_testing.events import read_all_events
from civicloop_testing.photo_samples import has_metadata, phone_photo
from civicloop_testing.polling import eventually
from civicloop_testing.twilio_server import Accepted, TwilioServer, twilio_server
from e2e_world import publish_configuration
from loop_world import Agent, served_loop
from PIL import Image
from playwright.async_api import Page, expect

pytestmark = pytest.mark.integration

OUR_NUMBER = "+15005550006"
RESIDENT_PHONE = "(202) 555-0143"
RESIDENT_E164 = "+12025550143"
CODE_TEXT = re.compile(r"^CivicLoop: your code is (\d{6})\.")
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/track\?number=[0-9A-Z-]+)")
POTHOLE = ServiceDefined(service_code="pothole", service_name="Pothole")


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioServer]:
    """The local Twilio server, every service's SMS sender pointed at it through the environment."""
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        for name, value in server.environment(OUR_NUMBER).items():
            monkeypatch.setenv(name, value)
        yield server


async def test_a_report_in_the_browser_is_worked_to_closed_and_the_resident_sees_and_hears_each_step(
    fresh_database_dsn,
    fresh_topics,
    kafka_bootstrap,
    twilio: TwilioServer,
    open_page: OpenPage,
    screenshots,
    tmp_path,
):
    await publish_configuration(kafka_bootstrap, fresh_topics, POTHOLE)
    async with served_loop(
        fresh_database_dsn,
        fresh_topics,
        kafka_bootstrap,
        providers={NotificationChannel.sms: "twilio"},
    ) as loop:
        resident = await open_page(javascript=True, viewport=PHONE)
        agent = await open_page(javascript=True)
        cut_off = [await loopback_only(page.context) for page in (resident, agent)]
        world = Loop(loop.intake_url, resident, agent, loop.agent, twilio, screenshots)

        number = await world.report(tmp_path / "IMG_0001.jpg")
        await world.photo_kept_without_metadata(number, fresh_topics, kafka_bootstrap)
        link = await world.told(1, f"We received your report {number}. Thank you.")
        await world.follow(link, number)

        await world.sign_in()
        await world.open_request(number)
        await world.act("acknowledge", note="A crew will look at it this week.")
        await expect(agent.locator("#status")).to_have_text("Acknowledged")
        link = await world.told(2, f"Your report {number} was acknowledged: a team is on it.")
        assert "A crew will look at it this week." in world.last.body
        await world.sees(link, "Acknowledged", "A crew will look at it this week.")

        visit_day = datetime.now(UTC).date() + timedelta(days=2)
        await agent.fill("#visit-start", f"{visit_day.isoformat()}T09:00")
        await agent.fill("#visit-duration", "120")
        await agent.fill("#visit-address", "1200 Main St")
        await world.act("visit", note="The crew comes in the morning.")
        link = await world.told(3, f"A visit for your report {number} is planned on")
        assert "at 1200 Main St." in world.last.body and "The crew comes in the morning." in world.last.body
        await world.sees(link, "Acknowledged", "(1200 Main St): The crew comes in the morning.")

        await agent.fill("#comment-text", "We found the cause: a broken drain under the road.")
        await agent.check("input[name=visibility][value=public]")
        await world.act("comment")
        await expect(agent.locator("ul.comments")).to_contain_text("a broken drain under the road")
        link = await world.told(4, f"News about your report {number}:")
        assert "We found the cause: a broken drain under the road." in world.last.body
        await world.sees(link, "Acknowledged", "a broken drain under the road")

        await agent.select_option("#close-reason", "fixed")
        await world.act("close", note="Drain repaired and the hole filled.")
        await expect(agent.locator("#status")).to_contain_text("Closed")
        await world.check_page(agent, "loop-console-closed")
        link = await world.told(5, f"Your report {number} was closed.")
        assert "Drain repaired and the hole filled." in world.last.body and "Was it fixed?" in world.last.body
        assert "Reason: fixed." in world.last.body, world.last.body
        await world.sees(link, "Closed", "Drain repaired and the hole filled.")
        await world.check_page(resident, "loop-track-closed")

    # Each message once, to the resident alone: the code and the five notices, nothing else, nothing twice.
    texts = twilio.to(RESIDENT_E164)
    assert len(twilio.accepted) == len(texts) == 6, [t.body for t in twilio.accepted]
    assert len({t.sid for t in texts}) == 6 and {t.sender for t in texts} == {OUR_NUMBER}
    assert [bool(CODE_TEXT.match(t.body)) for t in texts] == [False, True, False, False, False, False]
    assert all(f"/track?number={number}" in t.body for t in texts if not CODE_TEXT.match(t.body))
    assert [blocked.urls for blocked in cut_off] == [[], []]


class Loop:
    """The resident's browser and phone, the agent's browser, and what each step checks."""

    def __init__(
        self,
        base: str,
        resident: Page,
        agent: Page,
        account: Agent,
        twilio: TwilioServer,
        screenshots,
    ) -> None:
        self.base, self.resident, self.agent, self.account = base, resident, agent, account
        self.twilio, self.screenshots = twilio, screenshots
        self.number = ""
        self.action = ""

    @property
    def last(self) -> Accepted:
        return self.twilio.to(RESIDENT_E164)[-1]

    async def check_page(self, page: Page, name: str) -> None:
        """axe-core finds no serious or critical violation; the page's screenshots at both widths."""
        serious = await axe_violations(page)
        assert serious == [], f"{name}: {describe_violations(serious)}"
        await self.screenshots(page, name)

    # -- the resident ---------------------------------------------------------------------------------------------

    async def report(self, photo: Path) -> str:
        await asyncio.to_thread(photo.write_bytes, phone_photo())
        page = self.resident

        async def catalogued() -> bool:  # intake folds the catalogue from the log
            await page.goto(f"{self.base}/report", wait_until="load")
            return await page.locator("#f-service_code option[value=pothole]").count() == 1

        await eventually(catalogued, timeout=30, what="the report page to offer potholes", interval=0.2)
        await expect(page.locator("h1")).to_have_text("Report a problem")
        await page.select_option("#f-service_code", "pothole")
        await page.fill("#f-address", "1200 Main St")
        await page.fill("#f-description", "A deep pothole in the right lane, by the bus stop")
        await page.set_input_files("#f-photo", str(photo))
        await page.fill("#f-name", "Marta Ruiz")
        await page.fill("#f-phone", RESIDENT_PHONE)
        await page.check("input[name=preferred_channel][value=sms]")
        await expect(page.locator("#send")).to_be_enabled()  # the photo made ready to send
        await self.check_page(page, "loop-report")
        await page.click("#send")
        await page.wait_for_url(re.compile(r"/report/sent\?number="))
        number = await page.inner_text("#request-number")
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", number), number
        await self.check_page(page, "loop-report-sent")
        self.number = number
        return number

    async def photo_kept_without_metadata(self, number: str, topics, kafka: str) -> None:
        """The photo the request links to, as intake serves it: no EXIF, no GPS, turned upright."""
        [submitted] = [
            e
            for e in await read_all_events(kafka, topics.request_events, topics.partitions)
            if isinstance(e.payload, ServiceRequestSubmitted) and e.request_id == number
        ]
        [media_url] = submitted.payload.media_urls
        path = urlsplit(media_url).path
        assert re.fullmatch(r"/media/[0-9a-f-]{36}\.jpg", path), media_url
        answer = await self.resident.request.get(f"{self.base}{path}")
        assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
        kept = await answer.body()
        assert not has_metadata(kept)
        with Image.open(io.BytesIO(kept)) as image:
            assert image.height > image.width  # the camera's "rotate 90°" applied, then dropped

    async def told(self, count: int, start: str) -> str:
        """The resident's `count`-th notice arrived (the code aside), once, starting with `start`; its link."""

        async def arrived() -> list[Accepted] | None:
            notices = [t for t in self.twilio.to(RESIDENT_E164) if not CODE_TEXT.match(t.body)]
            return notices if len(notices) >= count else None

        notices = await eventually(arrived, timeout=45, what=f"text {count}: {start!r}", interval=0.1)
        assert len(notices) == count, [t.body for t in notices]  # one more would be a duplicate
        assert notices[-1].body.startswith(start), notices[-1].body
        found = LINK.search(notices[-1].body)
        assert found and found.group(1) == f"{self.base}/track?number={self.number}", notices[-1].body
        return found.group(1)

    async def follow(self, link: str, number: str) -> None:
        """The resident opens the link of the first text: the number, the phone, then the code that comes by text."""
        page = self.resident
        await page.goto(link, wait_until="load")
        await expect(page.locator("#f-number")).to_have_value(number)
        await page.fill("#f-contact", RESIDENT_PHONE)
        await self.check_page(page, "loop-track")
        await page.click("form[action='/track/code'] button[type=submit]")
        await expect(page.locator("#f-code")).to_be_visible()
        await self.check_page(page, "loop-track-code")

        async def code() -> str | None:
            codes = [m for t in self.twilio.to(RESIDENT_E164) if (m := CODE_TEXT.match(t.body))]
            return codes[-1].group(1) if codes else None

        await page.fill("#f-code", await eventually(code, timeout=30, what="the code by text"))
        await page.click("form[action='/track/open'] button[type=submit]")
        await expect(page.locator("h1")).to_contain_text(number)
        await expect(page.locator("dl.facts")).to_contain_text("Open")
        await self.check_page(page, "loop-track-open")

    async def sees(self, link: str, status: str, news: str) -> None:
        """The resident taps the text's link: the request, signed in still, shows `status` and `news` once intake
        has folded the change."""
        page = self.resident

        async def shown() -> bool:
            await page.goto(link, wait_until="load")
            facts, history = page.locator("dl.facts"), page.locator("ol.history")
            return (
                await facts.count() == 1
                and status in await facts.inner_text()
                and await history.count() == 1
                and news in await history.inner_text()
            )

        await eventually(
            shown, timeout=30, what=f"the track page to show {status} and {news!r}", interval=0.2
        )
        assert await page.locator("ol.history li").count() >= 1

    # -- the agent ------------------------------------------------------------------------------------------------

    async def sign_in(self) -> None:
        page = self.agent
        await page.goto(f"{self.base}/console/sign-in", wait_until="load")
        await expect(page.locator("h1")).to_have_text("Sign in")
        await self.check_page(page, "loop-console-sign-in")
        await page.fill("#s-email", self.account.email)
        await page.fill("#s-password", self.account.password)
        await page.fill("#s-code", self.account.totp.now())
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Queue")

    async def open_request(self, number: str) -> None:
        page = self.agent

        async def listed() -> bool:  # public-projections folds the new request into the agent view
            await page.reload(wait_until="load")
            return await page.locator(f"a:text-is('{number}')").count() == 1

        await eventually(listed, timeout=30, what="the new request in the queue", interval=0.2)
        await self.check_page(page, "loop-console-queue")
        await page.click(f"a:text-is('{number}')")
        await expect(page.locator("h1")).to_contain_text(number)
        await expect(page.locator("#status")).to_have_text("Open")
        await self.check_page(page, "loop-console-request")

    async def act(self, action: str, *, note: str | None = None) -> None:
        """The action's form sent (its public note filled in first), and the page saying it is done."""
        page = self.agent
        form = page.locator(f"form[action^='/console/requests/{self.number}/{action}']")
        if note is not None:
            await form.locator("textarea[name=public_note]").fill(note)
        async with page.expect_navigation():
            await form.locator("button[type=submit]:not([name])").click()
        await expect(page.locator("p.done")).to_be_visible()
