import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from civicloop_events import PersonalData
from civicloop_events.payloads import RequestStatus
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.track import RequestNotFound, track_request
from intake_fakes import FakeCatalogue, FakeTrackAttempts, FakeTrackingView, FakeVault

WAIT_S = 0.2
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
async def world():
    vault, tracking = FakeVault(), FakeTrackingView()
    sealed = await vault.seal(PersonalData(name="Ana", phone="+12025550143"))
    tracking.rows["0011-1ABC"] = TrackedRequest(
        "0011-1ABC", "demo", "pothole", "Deep hole", RequestStatus.open, T0, T0, contact=sealed
    )
    return vault, tracking, sealed


async def track(world, number, phone, attempts=None):
    vault, tracking, _ = world
    return await track_request(
        number=number,
        phone=phone,
        after=None,
        tracking=tracking,
        catalogue=FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", True)),
        vault=vault,
        attempts=attempts or FakeTrackAttempts(),
        default_region="US",
        wait_s=WAIT_S,
    )


async def test_the_right_phone_in_any_notation_sees_the_request(world):
    view = await track(world, "oo1l-iabc", "(202) 555-0143")
    assert view.request.request_number == "0011-1ABC"
    assert view.service_name == "Pothole"


@pytest.mark.parametrize(
    ("number", "phone"),
    [
        ("0011-1ABC", "(202) 555-0199"),
        ("ZZZZ-ZZZZ", "(202) 555-0143"),
        ("not a number", "(202) 555-0143"),
        ("0011-1ABC", "not a phone"),
    ],
)
async def test_every_miss_is_the_same_not_found_after_the_same_wait(world, number, phone):
    started = time.monotonic()
    with pytest.raises(RequestNotFound):
        await track(world, number, phone)
    assert time.monotonic() - started >= WAIT_S * 0.95


async def test_an_erased_resident_cannot_be_tracked(world):
    vault, _, sealed = world
    vault.erase(sealed.resident_id)
    with pytest.raises(RequestNotFound):
        await track(world, "0011-1ABC", "(202) 555-0143")


async def test_a_merged_request_follows_the_root_of_its_chain_and_only_its_own_phone_opens_it(world):
    vault, tracking, _ = world
    other = await vault.seal(PersonalData(name="Bo", phone="+12025550111"))
    tracking.rows["0011-1ABC"] = replace(tracking.rows["0011-1ABC"], merged_into="2222-2222")
    tracking.rows["2222-2222"] = TrackedRequest(
        "2222-2222",
        "demo",
        "pothole",
        "Hole",
        RequestStatus.open,
        T0,
        T0,
        contact=other,
        merged_into="3333-3333",
    )
    tracking.rows["3333-3333"] = TrackedRequest(
        "3333-3333", "demo", "pothole", "Crater", RequestStatus.closed, T0, T0, contact=other
    )
    view = await track(world, "0011-1ABC", "(202) 555-0143")
    assert view.original.request_number == "3333-3333" and view.original.status is RequestStatus.closed
    assert view.original_service_name == "Pothole"
    with pytest.raises(RequestNotFound):  # the original's resident's phone does not open the duplicate
        await track(world, "0011-1ABC", "(202) 555-0111")


async def test_a_merge_into_an_original_the_view_has_not_seen_yet_follows_nothing(world):
    _, tracking, _ = world
    tracking.rows["0011-1ABC"] = replace(tracking.rows["0011-1ABC"], merged_into="9999-9999")
    view = await track(world, "0011-1ABC", "(202) 555-0143")
    assert view.request.merged_into == "9999-9999" and view.original is None
