"""The report form's map in Debian's chromium, on the real intake and geo apps, database and broker: the service areas
geo draws (served by intake on its own site) on a plain background, a click or the keyboard puts the pin and the
report carries its point, "use my location" moves the pin, a basemap only when one is set (tiles from a server on
this machine here), and the form as it was when there is nothing to draw or no JavaScript. Nothing leaves the
loopback; axe-core finds no serious or critical violation; screenshots `report-map-*` at phone and desktop widths."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from civicloop_events import Actor, ServiceAreaDefined
from civicloop_geo.adapters.area_store import PostgresAreaStore
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.entrypoints.http import create_app as create_geo
from civicloop_geo.settings import GeoSettings
from civicloop_intake.adapters.postgres_catalogue import CATALOGUE_CONSUMER
from civicloop_intake.pages.report_form import attribute_field
from civicloop_intake.settings import Environment
from civicloop_testing.browser import PHONE, OpenPage, axe_violations, describe_violations, loopback_only
from civicloop_testing.consumers import assert_applied
from civicloop_testing.events import request_event
from civicloop_testing.staff_tokens import verifier_for_tests
from civicloop_testing.threaded_server import free_port, serve_in_thread
from fastapi import FastAPI, Response
from intake_harness import AGENT, SERVICES, Harness
from pages_harness import pages_app
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

pytestmark = pytest.mark.integration

LAT0, LONG0 = 34.0, -118.0
HALF = 0.01  # the town: a square about 2.2 km across


def _square(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
async def town(intake: Harness) -> str:
    """A jurisdiction on the run's database: its boundary and two wards (its west and east halves), its catalogue."""
    migrate_geo(GeoSettings(pg_dsn=intake.settings.pg_dsn).sqlalchemy_url)
    jurisdiction = f"pm-{uuid4().hex[:8]}"
    areas = [
        ("town", "Town", "boundary", _square(LONG0 - HALF, LAT0 - HALF, LONG0 + HALF, LAT0 + HALF)),
        ("ward-1", "Ward 1", "ward", _square(LONG0 - HALF, LAT0 - HALF, LONG0, LAT0 + HALF)),
        ("ward-2", "Ward 2", "ward", _square(LONG0, LAT0 - HALF, LONG0 + HALF, LAT0 + HALF)),
    ]
    async with intake.pool.connection() as conn:
        for area_id, name, kind, geometry in areas:
            payload = ServiceAreaDefined(
                area_id=area_id, name=name, kind=kind, geometry=geometry, source="test"
            )
            event = request_event(
                payload,
                request_id=None,
                actor=Actor(kind="system", id="map-tests"),
                source="cli",
                jurisdiction_id=jurisdiction,
            )
            await PostgresAreaStore().define(conn, event)
    # Its catalogue: the harness's pothole, so a report can be made there.
    pothole = request_event(
        SERVICES[0], request_id=None, actor=AGENT, source="admin", jurisdiction_id=jurisdiction
    )
    position = await intake.producer.publish(pothole, topic=intake.topics.jurisdiction_config)
    catalogue = intake.topics.prefix + CATALOGUE_CONSUMER
    await assert_applied(intake.pool, schema="intake", consumer=catalogue, positions=[position])
    return jurisdiction


@contextmanager
def serving_geo(intake: Harness) -> Iterator[str]:
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
    with serve_in_thread(geo, lifespan="on") as geo_url:
        yield geo_url


def _tile_server() -> FastAPI:
    """A basemap on this machine: every tile a pale square with a grid line, so a screenshot shows tiles drawn."""
    app = FastAPI()
    served: list[str] = []
    app.state.served = served
    image = Image.new("RGB", (256, 256), (226, 236, 220))
    ImageDraw.Draw(image).rectangle((0, 0, 255, 255), outline=(180, 196, 170), width=2)
    png = io.BytesIO()
    image.save(png, format="PNG")

    @app.get("/tiles/{z}/{x}/{y}.png")
    async def tile(z: int, x: int, y: int) -> Response:
        served.append(f"{z}/{x}/{y}")
        return Response(png.getvalue(), media_type="image/png")

    return app


async def _no_serious_violations(page: Page) -> None:
    serious = await axe_violations(page)
    assert serious == [], describe_violations(serious)


async def _fill_rest(page: Page, description: str) -> None:
    await page.select_option("#f-service_code", "pothole")
    await page.select_option(f'[id="f-{attribute_field("pothole", "depth")}"]', "deep")
    await page.fill("#f-description", description)
    await page.fill("#f-email", "marta.ruiz@example.org")


async def _submitted(intake: Harness, description: str) -> dict:
    made = [
        json.loads(r.value)
        for r in await intake.records()
        if r.value and b"request.submitted" in r.value and description.encode() in r.value
    ]
    assert len(made) == 1
    return made[0]["payload"]


async def test_the_map_shows_geos_areas_and_a_click_puts_the_pin_the_report_carries(
    intake: Harness, town: str, open_page: OpenPage, screenshots, tmp_path: Path
):
    page = await open_page(javascript=True)
    blocked = await loopback_only(page.context)
    with serving_geo(intake) as geo_url:
        app = pages_app(intake, tmp_path / "codes.jsonl", pages_geo_url=geo_url, default_jurisdiction=town)
        with serve_in_thread(app, lifespan="on") as base:
            answer = await page.goto(f"{base}/report", wait_until="load")
            assert answer is not None
            assert (
                "img-src 'self' data: blob:;" in answer.headers["content-security-policy"]
            )  # no tile server
            box = page.locator("#map-box")
            await expect(box).to_be_visible()
            await expect(box).to_have_attribute(
                "data-areas-shown", "3"
            )  # geo's three areas, served by intake
            await expect(page.locator("#map .leaflet-overlay-pane path")).to_have_count(3)
            await expect(page.locator("#map .leaflet-tile")).to_have_count(
                0
            )  # no basemap: a plain background
            await _no_serious_violations(page)
            await screenshots(page, "report-map-areas")

            # A click east of the middle (in ward 2): the pin, and the point in the form.
            bounds = await page.locator("#map").bounding_box()
            assert bounds is not None
            # Three fifths across: inside ward 2 whatever the map's width (the town fills its middle).
            where = {"x": bounds["width"] * 0.6, "y": bounds["height"] / 2}
            await page.locator("#map").click(position=where)
            await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
            await expect(page.locator("#f-lat")).not_to_have_value("")
            lat, lng = float(await page.input_value("#f-lat")), float(await page.input_value("#f-lng"))
            assert abs(lat - LAT0) < HALF / 2 and LONG0 < lng < LONG0 + HALF, (lat, lng)
            await expect(page.locator("#geo-status")).to_contain_text(f"{lat:.6f}")
            await expect(page.locator("#clear-location")).to_be_visible()
            await _no_serious_violations(page)
            await screenshots(page, "report-map-pin")

            await _fill_rest(page, "Pinned on the map")
            await page.click("#send")
            await page.wait_for_url(re.compile(r"/report/sent\?number="))
    assert blocked.urls == [], blocked.urls
    made = await _submitted(intake, "Pinned on the map")
    where = made["location"]
    assert where["lat"] == pytest.approx(lat, abs=1e-6) and where["long"] == pytest.approx(lng, abs=1e-6)


async def test_the_keyboard_puts_the_pin_and_my_location_moves_it(
    intake: Harness, town: str, open_page: OpenPage, screenshots, tmp_path: Path
):
    with serving_geo(intake) as geo_url:
        app = pages_app(intake, tmp_path / "codes.jsonl", pages_geo_url=geo_url, default_jurisdiction=town)
        with serve_in_thread(app, lifespan="on") as base:
            page = await open_page(javascript=True, viewport=PHONE)
            blocked = await loopback_only(page.context)
            await page.context.grant_permissions(["geolocation"], origin=base)
            await page.context.set_geolocation({"latitude": LAT0 + 0.004, "longitude": LONG0 - 0.006})
            await page.goto(f"{base}/report?lang=es", wait_until="load")
            await expect(page.locator("#map-box")).to_have_attribute("data-areas-shown", "3")
            await expect(page.locator("#h-map")).to_contain_text("Intro pone el marcador en el centro")

            # Tab reaches the map (after the place's buttons); Enter puts the pin in its middle: the town's centre.
            for _ in range(30):
                await page.keyboard.press("Tab")
                if await page.evaluate("document.activeElement.id") == "map":
                    break
            else:
                raise AssertionError("the keyboard never reached the map")
            pane = "document.querySelector('#map .leaflet-map-pane').style.transform"
            before = await page.evaluate(pane)
            await page.keyboard.press("ArrowRight")  # the arrows move the map: the middle moves east
            await page.wait_for_function(f"{pane} !== {json.dumps(before)}")
            await expect(page.locator("#map.aiming")).to_be_visible()  # the ring that marks the middle
            await _no_serious_violations(page)
            await screenshots(page, "report-map-keyboard")
            await page.keyboard.press("Enter")
            await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
            lat, lng = float(await page.input_value("#f-lat")), float(await page.input_value("#f-lng"))
            assert abs(lat - LAT0) < 0.001 and LONG0 < lng < LONG0 + HALF, (lat, lng)

            await page.click("#use-location")  # the device's location moves the pin there
            await expect(page.locator("#f-lat")).to_have_value(f"{LAT0 + 0.004:.6f}")
            pin = await page.evaluate(
                """() => { const r = document.querySelector('#map .leaflet-marker-icon').getBoundingClientRect();
                           const m = document.getElementById('map').getBoundingClientRect();
                           return [(r.left + r.width / 2 - m.left) / m.width, (r.bottom - m.top) / m.height]; }"""
            )
            assert 0 < pin[0] < 0.5 and 0 < pin[1] < 0.5, pin  # north-west of the centre, on the map
            await page.click("#clear-location")
            await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(0)
            assert blocked.urls == [], blocked.urls


async def test_a_basemap_comes_from_the_configured_tile_server_only(
    intake: Harness, town: str, open_page: OpenPage, screenshots, tmp_path: Path
):
    tiles = _tile_server()
    page = await open_page(javascript=True)
    blocked = await loopback_only(page.context)
    with serving_geo(intake) as geo_url, serve_in_thread(tiles) as tile_base:
        app = pages_app(
            intake,
            tmp_path / "codes.jsonl",
            pages_geo_url=geo_url,
            default_jurisdiction=town,
            map_tile_url=f"{tile_base}/tiles/{{z}}/{{x}}/{{y}}.png",
            map_tile_attribution="© Test <b>tiles</b>",
        )
        with serve_in_thread(app, lifespan="on") as base:
            answer = await page.goto(
                f"{base}/report?lat={LAT0 + 0.002}&lng={LONG0 + 0.003}", wait_until="load"
            )
            assert answer is not None
            assert f"img-src 'self' data: blob: {tile_base};" in answer.headers["content-security-policy"]
            await expect(page.locator("#map .leaflet-tile-loaded").first).to_be_visible()
            await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)  # the poster's point
            await expect(page.locator("#map-box")).to_have_attribute("data-areas-shown", "3")
            # The credit is shown as text, never as markup.
            await expect(page.locator(".leaflet-control-attribution")).to_contain_text("© Test <b>tiles</b>")
            await _no_serious_violations(page)
            await screenshots(page, "report-map-basemap")
    assert tiles.state.served and all(re.fullmatch(r"\d+/\d+/\d+", t) for t in tiles.state.served)
    assert blocked.urls == [], blocked.urls


async def test_the_form_is_the_same_without_the_map(
    intake: Harness, town: str, open_page: OpenPage, tmp_path: Path
):
    """No JavaScript: no map, the address field. Geo down and no basemap: nothing to draw, no map. Neither geo nor
    a basemap set: no map at all, and the page names no map library."""
    silent = f"http://127.0.0.1:{free_port()}"
    with serving_geo(intake) as geo_url:
        with serve_in_thread(
            pages_app(intake, tmp_path / "codes.jsonl", pages_geo_url=geo_url, default_jurisdiction=town),
            lifespan="on",
        ) as base:
            plain = await open_page(javascript=False)
            await plain.goto(f"{base}/report", wait_until="load")
            await expect(plain.locator("#map-box")).to_be_hidden()
            await expect(plain.locator("#f-address")).to_be_visible()
        with serve_in_thread(
            pages_app(intake, tmp_path / "codes.jsonl", pages_geo_url=silent, default_jurisdiction=town),
            lifespan="on",
        ) as base:
            down = await open_page(javascript=True)
            await down.goto(f"{base}/report", wait_until="load")
            await expect(down.locator("#map-box")).to_have_attribute("data-areas-shown", "0")
            await expect(down.locator("#map-box")).to_be_hidden()
            await expect(down.locator("#use-location")).to_be_visible()
        with serve_in_thread(pages_app(intake, tmp_path / "codes.jsonl"), lifespan="on") as base:
            none = await open_page(javascript=True)
            await none.goto(f"{base}/report", wait_until="load")
            assert await none.locator("#map-box").count() == 0
            assert "leaflet" not in await none.content()
