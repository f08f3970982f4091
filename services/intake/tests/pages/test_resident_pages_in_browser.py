"""The residents' pages in Debian's chromium, on the real app, database and broker: a report with a photo (the kept
copy has no EXIF), the same report made by keyboard alone, a report made offline and sent once when the connection
returns, the location pin and its errors in the resident's language, and track with a one-time code. axe-core finds
no serious or critical violation on any of them; screenshots at phone and desktop widths go to .run/screenshots/."""

from __future__ import annotations

import io
import re
from pathlib import Path
from uuid import uuid4

import pytest
from civicloop_events import Actor, CommentAdded, ServiceAreaDefined, StatusChanged
from civicloop_events.payloads import CommentVisibility, RequestStatus
from civicloop_geo.adapters.area_store import PostgresAreaStore
from civicloop_geo.adapters.gazetteer_loader import AddressRecord, load_address_points
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.domain.addresses import parse_address
from civicloop_geo.entrypoints.http import create_app as create_geo
from civicloop_geo.settings import GeoSettings
from civicloop_intake.adapters.access_code_sink import read_sink
from civicloop_intake.pages.report_form import attribute_field
from civicloop_intake.settings import Environment
from civicloop_testing.browser import OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.events import request_event
from civicloop_testing.photo_samples import full_size_photo, has_metadata, phone_photo
from civicloop_testing.staff_tokens import verifier_for_tests
from civicloop_testing.threaded_server import serve_in_thread
from intake_harness import Harness
from pages_harness import pages_app
from PIL import Image
from playwright.async_api import Page, Route, expect

pytestmark = pytest.mark.integration

EMAIL = "marta.ruiz@example.org"
PHONE = "(202) 555-0188"


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)


async def _fill_report(
    page: Page, photo: Path | None, *, description: str = "Deep hole by the bus stop"
) -> None:
    await page.select_option("#f-service_code", "pothole")
    await page.select_option(f'[id="f-{attribute_field("pothole", "depth")}"]', "deep")
    await page.fill("#f-address", "1200 Main St")
    await page.fill("#f-description", description)
    if photo is not None:
        await page.set_input_files("#f-photo", str(photo))
    await page.fill("#f-email", EMAIL)
    await page.check("input[name=preferred_channel][value=email]")


def _number_of(url: str) -> str:
    found = re.search(r"number=([0-9A-Z-]+)", url)
    assert found, url
    return found.group(1)


async def _kept_photos(intake: Harness, key: str) -> list[bytes]:
    async with intake.pool.connection() as conn:
        cur = await conn.execute("select content from intake.photos where idempotency_key = %s", (key,))
        return [bytes(row[0]) for row in await cur.fetchall()]


async def test_a_resident_reports_with_a_photo(intake: Harness, open_page: OpenPage, screenshots, tmp_path):
    photo = tmp_path / "IMG_0002.jpg"
    photo.write_bytes(phone_photo())
    page = await open_page(javascript=True)
    blocked = await loopback_only(page.context)
    with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
        await page.goto(f"{base}/report", wait_until="load")
        await expect(page.locator("h1")).to_have_text("Report a problem")
        # Only the chosen category's questions show once JavaScript runs.
        await expect(page.locator("fieldset.questions[data-category=pothole]")).to_be_hidden()
        await _fill_report(page, photo)
        await expect(page.locator("fieldset.questions[data-category=pothole]")).to_be_visible()
        await _no_serious_violations(page)
        await screenshots(page, "report-form")
        key = await page.input_value("input[name=idempotency_key]")

        await page.click("#send")
        await page.wait_for_url(re.compile(r"/report/sent\?number="))
        number = _number_of(page.url)
        await expect(page.locator("#request-number")).to_have_text(number)
        await expect(page.locator("figure.qr img")).to_have_js_property("complete", True)
        assert await page.evaluate("document.querySelector('figure.qr img').naturalWidth") > 0
        await _no_serious_violations(page)
        await screenshots(page, "report-answer")
    assert blocked.urls == [], blocked.urls
    [kept] = await _kept_photos(intake, key)
    assert not has_metadata(kept)


async def test_a_full_size_phone_photo_is_made_small_enough_to_send(
    intake: Harness, open_page: OpenPage, tmp_path
):
    photo = tmp_path / "IMG_0004.jpg"
    photo.write_bytes(full_size_photo())
    assert (
        photo.stat().st_size > intake.settings.max_body_bytes
    )  # as it is, larger than intake takes in a post
    page = await open_page(javascript=True)
    with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
        await page.goto(f"{base}/report", wait_until="load")
        await _fill_report(page, photo, description="A hole, photographed at full size")
        await expect(page.locator("#send")).to_be_enabled()
        assert await page.evaluate("document.getElementById('f-photo').files[0].size") < 900 * 1024
        key = await page.input_value("input[name=idempotency_key]")
        await page.click("#send")
        await page.wait_for_url(re.compile(r"/report/sent\?number="))
    [kept] = await _kept_photos(intake, key)
    assert not has_metadata(kept)
    with Image.open(io.BytesIO(kept)) as image:
        assert max(image.size) <= 1600 and image.height > image.width  # upright, as the camera said


async def test_a_refused_report_shows_its_problems(
    intake: Harness, open_page: OpenPage, screenshots, tmp_path
):
    page = await open_page(javascript=True)
    with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
        await page.goto(f"{base}/report?lang=es", wait_until="load")
        await page.select_option("#f-service_code", "pothole")
        await page.fill("#f-description", "Sin lugar")
        await page.click("#send")
        summary = page.locator("#error-summary")
        await expect(summary).to_contain_text("Indique una dirección, o use su ubicación.")
        await expect(page.locator("#f-address")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#f-description")).to_have_value("Sin lugar")
        await _no_serious_violations(page)
        await screenshots(page, "report-refused")
        await summary.get_by_role("link").click()  # the summary leads to the field
        assert await page.evaluate("document.activeElement.id") == "f-address"


async def test_a_report_made_by_keyboard_alone(intake: Harness, open_page: OpenPage, tmp_path):
    page = await open_page(javascript=True)
    with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
        await page.goto(f"{base}/report?lang=es", wait_until="load")
        await page.keyboard.press("Tab")  # the skip link comes first, and leads to the form
        assert await page.evaluate("document.activeElement.getAttribute('href')") == "#main"
        await page.keyboard.press("Enter")

        async def tab_to(element_id: str) -> None:
            for _ in range(40):
                await page.keyboard.press("Tab")
                if await page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                    return
            raise AssertionError(f"the keyboard never reached #{element_id}")

        await tab_to("f-service_code")
        await page.keyboard.press("ArrowDown")  # the first category: Pothole
        await tab_to("f-address")
        await page.keyboard.type("1200 Main St")
        await tab_to("f-description")
        await page.keyboard.type("Bache profundo")
        await tab_to("f-phone")
        await page.keyboard.type(PHONE)
        await tab_to("send")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/report/sent\?number="))
        await expect(page.locator("h1")).to_have_text("Gracias: recibimos su reporte")


async def test_the_location_pin_and_why_it_could_not_be_set(intake: Harness, open_page: OpenPage, tmp_path):
    with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
        allowed = await open_page(javascript=True)
        await allowed.context.grant_permissions(["geolocation"], origin=base)
        await allowed.context.set_geolocation({"latitude": 38.9012, "longitude": -77.0365})
        await allowed.goto(f"{base}/report", wait_until="load")
        await allowed.click("#use-location")
        await expect(allowed.locator("#f-lat")).to_have_value("38.901200")
        await expect(allowed.locator("#f-lng")).to_have_value("-77.036500")
        await expect(allowed.locator("#geo-status")).to_contain_text("38.901200")

        denied = await open_page(javascript=True)  # no permission: the browser refuses
        await denied.goto(f"{base}/report?lang=es", wait_until="load")
        await denied.click("#use-location")
        await expect(denied.locator("#geo-status")).to_contain_text("No se compartió la ubicación")
        await expect(denied.locator("#f-lat")).to_have_value("")


async def test_a_report_made_offline_is_sent_once_when_back_online(
    intake: Harness, open_page: OpenPage, screenshots, tmp_path
):
    photo = tmp_path / "IMG_0003.jpg"
    photo.write_bytes(phone_photo(1200, 900, orientation=1))
    page = await open_page(javascript=True)
    with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
        await page.goto(f"{base}/report", wait_until="load")
        assert await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        await page.context.set_offline(True)
        await page.reload(wait_until="load")  # the service worker keeps the form
        await expect(page.locator("h1")).to_have_text("Report a problem")
        await _fill_report(page, photo, description="Offline: a hole by the school")
        key = await page.input_value("input[name=idempotency_key]")
        await page.click("#send")
        await expect(page.locator("#queue-status")).to_contain_text("saved on this device")
        await _no_serious_violations(page)
        await screenshots(page, "report-offline")
        assert await page.input_value("input[name=idempotency_key]") != key  # the next report gets its own
        assert await _kept_photos(intake, key) == []  # nothing left the device

        await page.context.set_offline(False)
        await expect(page.locator("#queue-status")).to_contain_text("was sent: number", timeout=20_000)
        number = re.search(r"number ([0-9A-Z]{4}-[0-9A-Z]{4})", await page.inner_text("#queue-status")).group(
            1
        )
        # Back online again, reloaded: nothing is left to send, nothing is sent twice.
        await page.reload(wait_until="load")
        assert (
            await page.evaluate(
                """() => new Promise((resolve) => { const r = indexedDB.open('civicloop-reports', 1);
                 r.onsuccess = () => { const q = r.result.transaction('outbox').objectStore('outbox').count();
                                       q.onsuccess = () => resolve(q.result); }; })"""
            )
            == 0
        )
    assert len(await _kept_photos(intake, key)) == 1
    made = [
        r
        for r in await intake.records()
        if r.value and b"request.submitted" in r.value and b"Offline: a hole by the school" in r.value
    ]
    assert len(made) == 1 and number.encode() in made[0].value


async def test_a_report_whose_connection_drops_on_the_way_is_kept_and_sent_once(
    intake: Harness, open_page: OpenPage, tmp_path
):
    page = await open_page(javascript=True)
    with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
        await page.goto(f"{base}/report", wait_until="load")
        dropped: list[str] = []

        async def drop_posts(route: Route) -> None:
            if route.request.method == "POST":
                dropped.append(route.request.url)
                await route.abort("connectionreset")
            else:
                await route.continue_()

        await page.route("**/report", drop_posts)  # the browser still says "online"
        await _fill_report(page, None, description="Sent over a bad connection")
        await page.click("#send")
        await expect(page.locator("#queue-status")).to_contain_text("saved on this device")
        assert len(dropped) == 1
        await page.unroute("**/report", drop_posts)
        await page.evaluate(
            "window.dispatchEvent(new Event('online'))"
        )  # as the browser does on reconnecting
        await expect(page.locator("#queue-status")).to_contain_text("was sent: number", timeout=20_000)
    made = [
        r
        for r in await intake.records()
        if r.value and b"request.submitted" in r.value and b"Sent over a bad connection" in r.value
    ]
    assert len(made) == 1


async def test_a_resident_follows_a_request_with_a_one_time_code(
    intake: Harness, open_page: OpenPage, screenshots, tmp_path
):
    sink = tmp_path / "codes.jsonl"
    number = await intake.submit(
        "Streetlight out", address="5 Oak Ave", contact={"email": EMAIL, "phone": PHONE}
    )
    await intake.publish(
        StatusChanged(
            status=RequestStatus.in_progress,
            previous_status=RequestStatus.open,
            public_note="A crew is on its way",
        ),
        request_id=number,
    )
    await intake.publish(
        CommentAdded(text="Called by the crew", visibility=CommentVisibility.internal), request_id=number
    )
    last = await intake.publish(
        CommentAdded(text="New lamp ordered", visibility=CommentVisibility.public), request_id=number
    )
    held = await intake.client.post(
        "/api/v1/track", json={"number": number, "phone": PHONE}, headers={"CivicLoop-Position": last.token()}
    )
    assert held.status_code == 200
    page = await open_page(javascript=True)
    blocked = await loopback_only(page.context)
    with serve_in_thread(pages_app(intake, sink), lifespan="on") as base:
        await page.goto(f"{base}/track?number={number}", wait_until="load")
        await expect(page.locator("#f-number")).to_have_value(number)
        await _no_serious_violations(page)
        await screenshots(page, "track-form")
        await page.fill("#f-contact", EMAIL)
        await page.click("button[type=submit]")
        await expect(page.locator("#f-code")).to_be_visible()
        await _no_serious_violations(page)
        await screenshots(page, "track-code")
        await page.fill("#f-code", read_sink(sink)[-1]["code"])
        await page.click("form[action='/track/open'] button[type=submit]")
        await expect(page.locator("h1")).to_contain_text(number)
        await expect(page.locator("dl.facts")).to_contain_text("In progress")
        history = page.locator("ol.history")
        await expect(history).to_contain_text("A crew is on its way")
        await expect(history).to_contain_text("New lamp ordered")
        await expect(history).not_to_contain_text("Called by the crew")
        await _no_serious_violations(page)
        await screenshots(page, "track-request")
    assert blocked.urls == [], blocked.urls


LAT0, LONG0 = 34.0, -118.0


@pytest.fixture
async def town(intake: Harness) -> str:
    """A jurisdiction of geo's own on the run's database: address points on Main St inside its boundary."""
    migrate_geo(GeoSettings(pg_dsn=intake.settings.pg_dsn).sqlalchemy_url)
    jurisdiction = f"pg-{uuid4().hex[:8]}"
    records = []
    for n in (101, 121, 141):
        parsed = parse_address(f"{n} Main St, 90001")
        assert parsed is not None
        records.append(AddressRecord(parsed, LAT0 + n * 1e-5, LONG0 + 1e-4))
    await load_address_points(intake.pool, jurisdiction, records, source="town")
    square = [[LONG0 - 0.01, LAT0 - 0.01], [LONG0 + 0.01, LAT0 - 0.01], [LONG0 + 0.01, LAT0 + 0.01]]
    boundary = {"type": "Polygon", "coordinates": [[*square, [LONG0 - 0.01, LAT0 + 0.01], square[0]]]}
    area = ServiceAreaDefined(area_id="town", name="Town", kind="boundary", geometry=boundary, source="test")
    event = request_event(
        area,
        request_id=None,
        actor=Actor(kind="system", id="pages-tests"),
        source="cli",
        jurisdiction_id=jurisdiction,
    )
    async with intake.pool.connection() as conn:
        await PostgresAreaStore().define(conn, event)
    return jurisdiction


async def test_the_address_search_finds_the_place_through_geo(
    intake: Harness, town: str, open_page: OpenPage, screenshots, tmp_path
):
    geo = create_geo(
        GeoSettings(
            env=Environment.test,
            pg_dsn=intake.settings.pg_dsn,
            kafka_bootstrap=intake.settings.kafka_bootstrap,
            topic_prefix=intake.topics.prefix,
        ),
        staff_verifier=verifier_for_tests(),
        start_consumers=False,
    )
    page = await open_page(javascript=True)
    blocked = await loopback_only(page.context)
    with serve_in_thread(geo, lifespan="on") as geo_url:
        app = pages_app(intake, tmp_path / "codes.jsonl", pages_geo_url=geo_url, default_jurisdiction=town)
        with serve_in_thread(app, lifespan="on") as base:
            await page.goto(f"{base}/report", wait_until="load")
            await page.fill("#f-address", "121 Main St")
            await page.click("#find-address")
            choice = page.locator("#places button").first
            await expect(choice).to_contain_text("121")
            await expect(page.locator("#geo-status")).to_contain_text("Places found")
            await _no_serious_violations(page)
            await screenshots(page, "report-address-search")
            await choice.click()
            await expect(page.locator("#f-lat")).to_have_value(f"{LAT0 + 121e-5:.6f}")
            await expect(page.locator("#places")).to_be_hidden()

            nowhere = await open_page(javascript=True)
            unconfigured = pages_app(intake, tmp_path / "codes.jsonl")  # no geo: no search button
            with serve_in_thread(unconfigured, lifespan="on") as plain:
                await nowhere.goto(f"{plain}/report", wait_until="load")
                await expect(nowhere.locator("#find-address")).to_be_hidden()
    assert blocked.urls == [], blocked.urls
