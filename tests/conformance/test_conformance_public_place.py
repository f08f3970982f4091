"""SR-12, SR-15, SR-16, G-33 with DESIGN §4: Open311 GETs are public, so they show where a problem is only as far as
a block and an H3 cell — never the point or the house number a resident submitted — in XML and in JSON.

The gateway keeps no exact point: the radius search runs on the public point (GEO-02), and geo's `LocationResolved`
gives an address-only request its public place, so a radius search finds it (GEO-01).
"""

from __future__ import annotations

import h3
import pytest
from civicloop_events import Actor
from civicloop_events.payloads import LocationMethod, LocationResolved
from civicloop_places import block_address, public_place
from civicloop_testing.events import request_event
from civicloop_testing.open311_catalogue import BULKY, POTHOLE, SPRINGFIELD, unique
from civicloop_testing.open311_reading import read
from civicloop_testing.polling import eventually
from conformance_harness import streetlight_fields
from conformance_wire import check_request_object, number, requests_of, string_id

pytestmark = pytest.mark.integration

# A resident's doorstep: neither the coordinates' text nor the house number may appear in any public answer.
LAT, LONG = "39.723456", "-89.598765"
ADDRESS = "1234 Sycamore Ave, Apt 5"
NEVER_SHOWN = (LAT.encode(), LONG.lstrip("-").encode(), b"1234 Sycamore", b"Apt 5")


def assert_nothing_exact(body: bytes, what: str) -> None:
    for text in NEVER_SHOWN:
        assert text not in body, (
            f"{what} shows {text!r}, part of the submitted place (SR-12, SR-15, DESIGN §4)"
        )


def assert_public(request: dict, fmt: str, *, resolution: int) -> None:
    """SR-12, SR-15, SR-16, G-33: numbers, the cell's centre and the block; not the submitted values."""
    public = public_place(float(LAT), float(LONG), ADDRESS, resolution=resolution)
    lat, long = number(request["lat"], fmt), number(request["long"], fmt)
    assert (lat, long) == (public.lat, public.long)
    assert (lat, long) != (float(LAT), float(LONG))
    assert request["address"] == public.address == "1200 block of Sycamore Ave"
    check_request_object(request, fmt, resolution=resolution)


async def test_SR_12_SR_15_G_33_no_get_shows_the_submitted_point_or_house_number(gateway, fmt):
    """SR-12, SR-15, SR-16, G-33, DESIGN §4: requests/{id}, request/{id}, the list (by id, by radius, with
    extensions), servicerequestupdates and tokens answer with the public place only; so does the POST's answer."""
    resolution = gateway.settings.public_h3_resolution
    posted = await gateway.submit(
        fmt,
        **streetlight_fields(lat=LAT, long=LONG, address_string=ADDRESS, description=unique("Privacy check")),
    )
    assert posted.status_code == 200, posted.text
    assert_nothing_exact(posted.content, "the POST answer")
    number_ = string_id(requests_of(posted, fmt)[0]["service_request_id"], fmt)

    answers = {
        "requests/{id}": await gateway.get(f"requests/{number_}", fmt, jurisdiction_id=SPRINGFIELD),
        "request/{id}": await gateway.get(f"request/{number_}", fmt, jurisdiction_id=SPRINGFIELD),
        "requests by id": await gateway.get(
            "requests", fmt, jurisdiction_id=SPRINGFIELD, service_request_id=number_
        ),
        # The search runs on the public point, up to ~200 m from the submitted one at resolution 9.
        "requests by radius": await gateway.get(
            "requests", fmt, jurisdiction_id=SPRINGFIELD, lat=LAT, long=LONG, radius=400
        ),
        "requests with extensions": await gateway.get(
            "requests", fmt, jurisdiction_id=SPRINGFIELD, service_request_id=number_, extensions="true"
        ),
    }
    for what, answer in answers.items():
        assert answer.status_code == 200, f"{what}: {answer.text}"
        assert_nothing_exact(answer.content, what)
        [request] = [r for r in requests_of(answer, fmt) if r["service_request_id"] == number_]
        assert_public(request, fmt, resolution=resolution)

    updates = await gateway.get("servicerequestupdates", fmt, jurisdiction_id=SPRINGFIELD)
    assert updates.status_code == 200, updates.text
    read(updates, fmt, root="service_request_updates")
    assert_nothing_exact(updates.content, "servicerequestupdates")

    batch = await gateway.submit(
        fmt,
        service_code=BULKY,
        lat=LAT,
        long=LONG,
        address_string=ADDRESS,
        description=unique("Privacy check, batch"),
    )
    assert batch.status_code == 200, batch.text
    token = string_id(requests_of(batch, fmt)[0]["token"], fmt)
    tokens = await gateway.get(f"tokens/{token}", fmt, jurisdiction_id=SPRINGFIELD)
    assert tokens.status_code == 200, tokens.text
    assert_nothing_exact(tokens.content, "tokens/{token}")


async def test_GEO_01_SR_15_a_resolved_location_places_an_address_only_request(gateway, fmt):
    """GEO-01, SR-12, SR-15, DESIGN §4: submitted with only an address, a request has no point and shows its block;
    once geo publishes LocationResolved, a radius search around the point finds it and it shows geo's public place
    (the cell's centre and block), never the point geo resolved."""
    lat, long, address = 39.701234, -89.702345, "2111 Maple Ave, Springfield"
    posted = await gateway.submit(
        fmt, service_code=POTHOLE, address_string=address, description=unique("Address only, then placed")
    )
    assert posted.status_code == 200, posted.text
    number_ = string_id(requests_of(posted, fmt)[0]["service_request_id"], fmt)

    async def shown() -> dict:
        r = await gateway.get(f"requests/{number_}", fmt, jurisdiction_id=SPRINGFIELD)
        assert r.status_code == 200, r.text
        return requests_of(r, fmt)[0]

    async def by_radius() -> tuple[bytes, set[str]]:
        r = await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, lat=lat, long=long, radius=400)
        assert r.status_code == 200, r.text
        return r.content, {x["service_request_id"] for x in requests_of(r, fmt)}

    before = await shown()
    assert (before["lat"], before["long"]) == (None, None)
    assert before["address"] == block_address(address) == "2100 block of Maple Ave, Springfield"
    assert number_ not in (await by_radius())[1], "no point yet: a radius search cannot find it"

    public = public_place(
        lat, long, address, resolution=9
    )  # geo's resolution, whatever the gateway's setting
    await gateway.publish_request_event(
        request_event(
            LocationResolved(
                lat=lat,
                long=long,
                address=address,
                method=LocationMethod.geocoded,
                provider="gazetteer",
                confidence=0.93,
                inside_jurisdiction=True,
                public=public,
            ),
            request_id=number_,
            actor=Actor(kind="system", id="geo"),
            source="geo",
            jurisdiction_id=SPRINGFIELD,
        )
    )

    async def placed() -> dict | None:
        request = await shown()
        return request if request["lat"] is not None else None

    after = await eventually(placed, timeout=15, what=f"LocationResolved of {number_}")
    assert (number(after["lat"], fmt), number(after["long"], fmt)) == (public.lat, public.long) != (lat, long)
    assert after["address"] == public.address == "2100 block of Maple Ave, Springfield"
    check_request_object(after, fmt, resolution=9)

    body, found = await by_radius()
    assert number_ in found, "the resolved request is searched by radius (GEO-01)"
    assert b"39.701234" not in body and b"89.702345" not in body and b"2111" not in body


async def test_GEO_02_a_radius_search_cannot_narrow_a_request_down_past_its_cell(gateway, fmt):
    """GEO-02, DESIGN §4: membership in a radius search depends on the public point only, so repeated small-radius
    searches around a request reveal its cell's centre, never where it was reported."""
    posted = await gateway.submit(
        fmt,
        **streetlight_fields(
            lat=LAT, long=LONG, address_string=ADDRESS, description=unique("Trilateration check")
        ),
    )
    assert posted.status_code == 200, posted.text
    number_ = string_id(requests_of(posted, fmt)[0]["service_request_id"], fmt)
    public = public_place(float(LAT), float(LONG), ADDRESS, resolution=gateway.settings.public_h3_resolution)

    async def found(lat: float, long: float, radius: float) -> bool:
        r = await gateway.get(
            "requests", fmt, jurisdiction_id=SPRINGFIELD, lat=str(lat), long=str(long), radius=str(radius)
        )
        assert r.status_code == 200, r.text
        return number_ in {x["service_request_id"] for x in requests_of(r, fmt)}

    gap_m = h3.great_circle_distance((float(LAT), float(LONG)), (public.lat, public.long), unit="m")
    assert gap_m > 20, "the fixture's point must not sit on its cell's centre"
    assert await found(public.lat, public.long, 5), "found at the public point"
    assert not await found(float(LAT), float(LONG), gap_m - 10), "not found at the reported point"
