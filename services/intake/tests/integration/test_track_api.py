import time

import pytest
from civicloop_events import CommentAdded, Location, PersonalData, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CommentVisibility,
    ExternalReferenceAssigned,
    Priority,
    RequestStatus,
    Routed,
)
from civicloop_runtime.vault import ResidentKeyVault

pytestmark = pytest.mark.integration

BODY = {
    "service_code": "pothole",
    "description": "Deep hole",
    "address_string": "1 Main St",
    "contact": {"name": "Ana", "phone": "(202) 555-0188"},
}


async def submit(intake) -> str:
    r = await intake.client.post("/api/v1/requests", json=BODY)
    assert r.status_code == 201, r.text
    return r.json()["request_number"]


async def track(intake, number, phone, **headers):
    return await intake.client.post("/api/v1/track", json={"number": number, "phone": phone}, headers=headers)


async def test_right_after_submitting_the_resident_sees_the_request(intake):
    number = await submit(intake)
    r = await track(intake, number.lower(), "+12025550188")  # right away, and typed differently
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_number"] == number
    assert (body["status"], body["service_code"], body["service_name"]) == ("open", "pothole", "Pothole")
    assert body["description"] == "Deep hole" and body["history"] == [] and body["external_references"] == []
    assert body["submitted_at"] == body["updated_at"]
    assert set(body) == {
        "request_number",
        "service_code",
        "service_name",
        "status",
        "description",
        "submitted_at",
        "updated_at",
        "history",
        "external_references",
        "merged_into",
        "original",
        "address",
        "service_areas",
    }
    assert (body["merged_into"], body["original"], body["address"], body["service_areas"]) == (
        None,
        None,
        None,
        [],
    )
    assert r.headers["Cache-Control"] == "no-store"


async def test_a_wrong_phone_and_an_unknown_number_are_the_same_404(intake):
    number = await submit(intake)
    wrong_phone = await track(intake, number, "(202) 555-0199")
    unknown = await track(intake, "ZZZZ-ZZZZ", "(202) 555-0188")
    assert wrong_phone.status_code == unknown.status_code == 404
    assert wrong_phone.json() == unknown.json()


async def test_a_wrong_phone_and_an_unknown_number_take_the_same_time(intake):
    number = await submit(intake)
    assert (await track(intake, number, "(202) 555-0188")).status_code == 200  # the view has it
    wait_s = intake.settings.read_your_writes_timeout_s
    for wrong in (
        (number, "(202) 555-0199"),
        ("ZZZZ-ZZZZ", "(202) 555-0188"),
        ("not a number", "nor a phone"),
    ):
        started = time.perf_counter()
        assert (await track(intake, *wrong)).status_code == 404
        assert wait_s <= time.perf_counter() - started < wait_s + 0.5, wrong


async def test_status_changes_and_public_comments_show_up_internal_ones_do_not(intake):
    number = await submit(intake)
    await intake.publish(
        StatusChanged(
            status=RequestStatus.in_progress,
            previous_status=RequestStatus.open,
            public_note="A crew is on its way",
        ),
        request_id=number,
    )
    await intake.publish(
        CommentAdded(text="Resident called twice", visibility=CommentVisibility.internal), request_id=number
    )
    last = await intake.publish(
        CommentAdded(text="Filled this morning", visibility=CommentVisibility.public), request_id=number
    )

    r = await track(intake, number, "2025550188", **{"CivicLoop-Position": last.token()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "in_progress"
    assert [(h["kind"], h["status"], h["note"], h["text"]) for h in body["history"]] == [
        ("status", "in_progress", "A crew is on its way", None),
        ("comment", None, None, "Filled this morning"),
    ]
    assert "Resident called twice" not in r.text
    assert body["updated_at"] > body["submitted_at"]


async def test_requests_from_any_source_are_trackable(intake):
    # e.g. a partner's request that came in through the Open311 gateway, not through intake's POST
    vault = ResidentKeyVault(intake.pool, pepper=intake.settings.pepper)
    sealed = await vault.seal(PersonalData(phone="+12025550166"))
    position = await intake.publish(
        ServiceRequestSubmitted(
            service_code="pothole",
            description="From a partner",
            location=Location(lat=38.9, long=-77.0),
            contact=sealed,
        ),
        request_id="PRTN-0001",
    )
    r = await track(intake, "PRTN-0001", "202-555-0166", **{"CivicLoop-Position": position.token()})
    assert r.status_code == 200 and r.json()["description"] == "From a partner"


async def test_the_resident_sees_which_body_has_the_request_and_its_reference_not_the_routing(intake):
    number = await submit(intake)
    await intake.publish(
        Routed(body_id="dpw", team="Night crew 7", priority=Priority.high, rules=["potholes"]),
        request_id=number,
    )
    await intake.publish(
        ExternalReferenceAssigned(body_id="dpw", external_id="SR-2026-004211"), request_id=number
    )
    await intake.publish(ExternalReferenceAssigned(body_id="water", external_id="WO-77"), request_id=number)
    last = await intake.publish(
        ExternalReferenceAssigned(body_id="dpw", external_id="SR-2026-004211"), request_id=number
    )  # told twice

    r = await track(intake, number, "2025550188", **{"CivicLoop-Position": last.token()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["external_references"] == [
        {"body_id": "dpw", "external_id": "SR-2026-004211"},
        {"body_id": "water", "external_id": "WO-77"},
    ]
    assert [(h["kind"], h["text"], h["body_id"], h["external_id"]) for h in body["history"]] == [
        ("sent", "Sent to dpw", "dpw", "SR-2026-004211"),
        ("sent", "Sent to water", "water", "WO-77"),
    ]
    assert body["status"] == "open"
    assert "Night crew 7" not in r.text and "priority" not in r.text and "potholes" not in r.text
