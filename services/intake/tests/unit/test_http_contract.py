"""The HTTP contract (status codes, error shapes, headers) over the real handlers and in-memory ports."""

import uuid

import httpx
import pytest
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.entrypoints.routes import get_intake
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from intake_fakes import FakeCatalogue, intake_on_fakes

BODY = {"service_code": "pothole", "description": "Deep hole", "lat": 38.9, "long": -77.0}


@pytest.fixture
async def intake():
    return await intake_on_fakes(FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True)))


@pytest.fixture
async def client(intake):
    app = create_app(IntakeSettings(env=Environment.test), staff_verifier=verifier_for_tests())
    app.dependency_overrides[get_intake] = lambda: intake
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        yield c


async def test_created_answer_shape_and_headers(client):
    r = await client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "abc"})
    assert r.status_code == 201
    body = r.json()
    number = body["request_number"]
    assert body == {
        "request_number": number,
        "status": "open",
        "position": {"partition": 0, "offset": 0},
        "links": {
            "track": "/api/v1/track",
            "track_page": f"http://localhost:8001/track?number={number}",
            "track_qr": f"/api/qr?data=http%3A%2F%2Flocalhost%3A8001%2Ftrack%3Fnumber%3D{number}&size=256",
        },
    }
    assert r.headers["CivicLoop-Position"] == "0:0"
    assert r.headers["Idempotency-Key"] == "abc"


async def test_a_key_is_generated_when_the_client_sends_none(client):
    first = await client.post("/api/v1/requests", json=BODY)
    second = await client.post("/api/v1/requests", json=BODY)
    assert first.headers["Idempotency-Key"].startswith("server-")
    assert first.json()["request_number"] != second.json()["request_number"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({k: v for k, v in BODY.items() if k != "service_code"}, ["body", "service_code"]),
        ({**BODY, "service_code": "unicorn"}, ["body", "service_code"]),
        ({**BODY, "media_url": "javascript:alert(1)"}, ["body", "media_url"]),
        ({**BODY, "long": None}, ["body", "long"]),
        ({**BODY, "contact": {"phone": "not a phone"}}, ["body", "contact", "phone"]),
        ({**BODY, "contact": {"email": "ana@"}}, ["body", "contact", "email"]),
        (
            {**BODY, "preferred_channel": "sms", "contact": {"email": "ana@example.org"}},
            ["body", "preferred_channel"],
        ),
        ({**BODY, "attributes": {"depth": "deep"}}, ["body", "attributes", "depth"]),
    ],
)
async def test_invalid_input_is_a_422_naming_the_field(client, body, loc):
    r = await client.post("/api/v1/requests", json=body)
    assert r.status_code == 422
    assert loc in [e["loc"] for e in r.json()["detail"]]
    assert all(set(e) == {"type", "loc", "msg"} for e in r.json()["detail"])


async def test_validation_errors_never_echo_contact_details(client):
    r = await client.post(
        "/api/v1/requests", json={**BODY, "contact": {"name": "Ana Lopez", "phone": "x" * 40}}
    )
    assert r.status_code == 422 and "Ana Lopez" not in r.text and "xxxx" not in r.text


async def test_a_reused_key_with_another_body_is_409(client):
    await client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k"})
    r = await client.post(
        "/api/v1/requests", json={**BODY, "description": "x"}, headers={"Idempotency-Key": "k"}
    )
    assert r.status_code == 409 and r.json()["error"] == "idempotency_key_reused"


async def test_an_unavailable_event_log_is_503_with_the_key_to_retry(client, intake):
    intake.event_log.down = True
    r = await client.post("/api/v1/requests", json=BODY)
    assert r.status_code == 503
    assert r.json()["error"] == "event_log_unavailable"
    key = r.json()["idempotency_key"]
    assert r.headers["Retry-After"] and r.headers["Idempotency-Key"] == key

    intake.event_log.down = False
    retry = await client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": key})
    assert retry.status_code == 201
    assert retry.json()["request_number"] == intake.submissions.rows[key].request_number


async def test_track_misses_are_404_without_detail(client):
    r = await client.post("/api/v1/track", json={"number": "ZZZZ-ZZZZ", "phone": "2025550143"})
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": "no request matches this number and phone"}


async def test_track_needs_number_and_phone(client):
    r = await client.post("/api/v1/track", json={"number": "ZZZZ-ZZZZ"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "phone"]


async def test_track_takes_no_phone_in_the_url(client):
    r = await client.get("/api/v1/track", params={"number": "ZZZZ-ZZZZ", "phone": "2025550143"})
    assert r.status_code == 405


async def test_healthz_answers_without_resources(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_is_503_before_the_lifespan_opened_anything(client):
    assert (await client.get("/readyz")).status_code == 503


def test_the_track_answer_documents_external_references_and_nothing_internal():
    schemas = create_app(IntakeSettings(env=Environment.test)).openapi()["components"]["schemas"]
    track = schemas["TrackRead"]
    assert "external_references" in track["required"]
    assert track["properties"]["external_references"]["items"] == {
        "$ref": "#/components/schemas/ExternalReferenceRead"
    }
    assert set(schemas["ExternalReferenceRead"]["required"]) == {"body_id", "external_id"}
    assert "sent" in schemas["HistoryKind"]["enum"]
    assert not {"team", "priority"} & (
        set(track["properties"]) | set(schemas["HistoryEntryRead"]["properties"])
    )


# -- agents: merge a duplicate ----------------------------------------------------------------------------------------

# A verified staff token, no longer a `CivicLoop-Agent` header: the actor is the token's staff id.
AGENT_ID = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000a007")
AGENT = staff_headers(AGENT_ID)


def _track_rows(intake, *numbers):
    from datetime import UTC, datetime

    from civicloop_events.payloads import RequestStatus
    from civicloop_intake.domain.tracking import TrackedRequest

    t0 = datetime(2026, 11, 24, tzinfo=UTC)
    for n in numbers:
        intake.tracking.rows[n] = TrackedRequest(n, "demo", "pothole", "hole", RequestStatus.open, t0, t0)


async def test_a_merge_answers_201_with_its_position_then_200_when_repeated(client, intake):
    _track_rows(intake, "AAAA-0001", "BBBB-0002")
    r = await client.post(
        "/api/v1/agent/requests/aaaa-0001/merge",
        json={"original": "BBBB-0002", "note": "same"},
        headers=AGENT,
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "request_number": "AAAA-0001",
        "merged_into": "BBBB-0002",
        "requested_original": "BBBB-0002",
        "position": {"partition": 0, "offset": 0},
    }
    assert r.headers["CivicLoop-Position"] == "0:0"
    again = await client.post(
        "/api/v1/agent/requests/AAAA-0001/merge", json={"original": "BBBB-0002"}, headers=AGENT
    )
    assert (again.status_code, again.json()) == (200, r.json())
    assert intake.event_log.events[0].actor.id == str(AGENT_ID)


async def test_a_merge_without_a_staff_token_is_refused_before_anything_happens(client, intake):
    _track_rows(intake, "AAAA-0001", "BBBB-0002")
    for headers in ({}, {"CivicLoop-Agent": "agent-7"}, staff_headers(None, "auditor")):
        r = await client.post(
            "/api/v1/agent/requests/AAAA-0001/merge", json={"original": "BBBB-0002"}, headers=headers
        )
        assert r.status_code in (401, 403) and r.json()["error"] in ("unauthenticated", "forbidden")
    assert intake.event_log.events == []


async def test_a_merge_of_another_jurisdictions_request_is_404(client, intake):
    _track_rows(intake, "AAAA-0001", "BBBB-0002")
    elsewhere = staff_headers(AGENT_ID, jurisdiction_id="springfield")
    r = await client.post(
        "/api/v1/agent/requests/AAAA-0001/merge", json={"original": "BBBB-0002"}, headers=elsewhere
    )
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    assert intake.event_log.events == []


@pytest.mark.parametrize(
    ("number", "body", "status", "expected"),
    [
        ("nope", {"original": "nope"}, 422, [["path", "number"], ["body", "original"]]),
        ("AAAA-0001", {"original": "AAAA-0001"}, 422, [["body", "original"]]),
        ("AAAA-0001", {"original": "ZZZZ-9999"}, 422, [["body", "original"]]),
        ("ZZZZ-9999", {"original": "AAAA-0001"}, 404, "not_found"),
        ("AAAA-0001", {"original": "BBBB-0002", "extra": 1}, 422, [["body", "extra"]]),
    ],
)
async def test_refused_merges_use_the_apis_error_shapes(client, intake, number, body, status, expected):
    _track_rows(intake, "AAAA-0001", "BBBB-0002")
    r = await client.post(f"/api/v1/agent/requests/{number}/merge", json=body, headers=AGENT)
    assert r.status_code == status, r.text
    if status == 422:
        assert [e["loc"] for e in r.json()["detail"]] == expected
    else:
        assert r.json()["error"] == expected


async def test_merging_a_merged_duplicate_elsewhere_or_in_a_circle_is_409(client, intake):
    _track_rows(intake, "AAAA-0001", "BBBB-0002", "CCCC-0003")
    await client.post("/api/v1/agent/requests/AAAA-0001/merge", json={"original": "BBBB-0002"}, headers=AGENT)
    elsewhere = await client.post(
        "/api/v1/agent/requests/AAAA-0001/merge", json={"original": "CCCC-0003"}, headers=AGENT
    )
    circle = await client.post(
        "/api/v1/agent/requests/BBBB-0002/merge", json={"original": "AAAA-0001"}, headers=AGENT
    )
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (409, "already_merged")
    assert (circle.status_code, circle.json()["error"]) == (409, "merge_cycle")


async def test_a_merge_the_event_log_did_not_take_is_503_and_says_to_repeat_it(client, intake):
    _track_rows(intake, "AAAA-0001", "BBBB-0002")
    intake.event_log.down = True
    r = await client.post(
        "/api/v1/agent/requests/AAAA-0001/merge", json={"original": "BBBB-0002"}, headers=AGENT
    )
    assert r.status_code == 503 and r.json()["error"] == "event_log_unavailable"
    assert "repeat" in r.json()["detail"] and "idempotency_key" not in r.json()


# -- agents: place a request by hand ----------------------------------------------------------------------------------

POINT = {
    "lat": 38.8977,
    "long": -77.0365,
    "address": "1600 Pennsylvania Ave NW",
    "note": "pin was in the river",
}


async def test_a_correction_answers_201_with_its_position_and_key_then_200_when_retried_with_it(
    client, intake
):
    _track_rows(intake, "AAAA-0001")
    r = await client.post(
        "/api/v1/agent/requests/aaaa-0001/location", json=POINT, headers={**AGENT, "Idempotency-Key": "fix-1"}
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "request_number": "AAAA-0001",
        "lat": 38.8977,
        "long": -77.0365,
        "address": "1600 Pennsylvania Ave NW",
        "position": {"partition": 0, "offset": 0},
    }
    assert (r.headers["CivicLoop-Position"], r.headers["Idempotency-Key"]) == ("0:0", "fix-1")
    again = await client.post(
        "/api/v1/agent/requests/AAAA-0001/location", json=POINT, headers={**AGENT, "Idempotency-Key": "fix-1"}
    )
    assert (again.status_code, again.json()) == (200, r.json())
    [event] = intake.event_log.events
    assert (event.type, event.actor.id, event.payload.note) == (
        "request.location.corrected",
        str(AGENT_ID),
        "pin was in the river",
    )


async def test_corrections_without_a_key_are_each_a_new_event(client, intake):
    _track_rows(intake, "AAAA-0001")
    first = await client.post(
        "/api/v1/agent/requests/AAAA-0001/location", json={"lat": 1, "long": 2}, headers=AGENT
    )
    second = await client.post(
        "/api/v1/agent/requests/AAAA-0001/location", json={"lat": 1, "long": 2}, headers=AGENT
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.headers["Idempotency-Key"].startswith("server-")
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    assert first.json()["address"] is None and second.headers["CivicLoop-Position"] == "0:1"
    assert len({e.event_id for e in intake.event_log.events}) == 2


@pytest.mark.parametrize(
    ("number", "body", "headers", "status", "expected"),
    [
        ("nope", POINT, AGENT, 422, [["path", "number"]]),
        ("AAAA-0001", {**POINT, "lat": 91}, AGENT, 422, [["body", "lat"]]),
        ("AAAA-0001", {**POINT, "long": -180.01}, AGENT, 422, [["body", "long"]]),
        ("AAAA-0001", {"lat": 1}, AGENT, 422, [["body", "long"]]),
        ("AAAA-0001", {**POINT, "address": ""}, AGENT, 422, [["body", "address"]]),
        ("AAAA-0001", POINT, {}, 401, "unauthenticated"),
        ("AAAA-0001", POINT, {"CivicLoop-Agent": "agent-7"}, 401, "unauthenticated"),
        ("ZZZZ-9999", POINT, AGENT, 404, "not_found"),
    ],
)
async def test_refused_corrections_use_the_apis_error_shapes(
    client, intake, number, body, headers, status, expected
):
    _track_rows(intake, "AAAA-0001")
    r = await client.post(f"/api/v1/agent/requests/{number}/location", json=body, headers=headers)
    assert r.status_code == status, r.text
    if status == 422:
        assert [e["loc"] for e in r.json()["detail"]] == expected
    elif status == 401:
        assert r.json()["error"] == expected
    else:
        assert r.json() == {"error": expected, "detail": "no request ZZZZ-9999"}
    assert intake.event_log.events == [] and intake.corrections.rows == {}


async def test_placing_a_merged_duplicate_is_409_merged_and_a_reused_key_409(client, intake):
    _track_rows(intake, "AAAA-0001", "BBBB-0002")
    await client.post("/api/v1/agent/requests/AAAA-0001/merge", json={"original": "BBBB-0002"}, headers=AGENT)
    r = await client.post("/api/v1/agent/requests/AAAA-0001/location", json=POINT, headers=AGENT)
    assert (r.status_code, r.json()["error"]) == (409, "merged")
    assert "place BBBB-0002 instead" in r.json()["detail"]
    ok = await client.post(
        "/api/v1/agent/requests/BBBB-0002/location", json=POINT, headers={**AGENT, "Idempotency-Key": "k"}
    )
    reused = await client.post(
        "/api/v1/agent/requests/BBBB-0002/location",
        json={**POINT, "lat": 38.9},
        headers={**AGENT, "Idempotency-Key": "k"},
    )
    assert ok.status_code == 201
    assert (reused.status_code, reused.json()["error"]) == (409, "idempotency_key_reused")


async def test_a_correction_the_event_log_did_not_take_is_503_with_the_key_to_retry(client, intake):
    _track_rows(intake, "AAAA-0001")
    intake.event_log.down = True
    r = await client.post("/api/v1/agent/requests/AAAA-0001/location", json=POINT, headers=AGENT)
    assert r.status_code == 503 and r.json()["error"] == "event_log_unavailable"
    key = r.json()["idempotency_key"]
    assert r.headers["Idempotency-Key"] == key and "retry with the same Idempotency-Key" in r.json()["detail"]
    intake.event_log.down = False
    retry = await client.post(
        "/api/v1/agent/requests/AAAA-0001/location", json=POINT, headers={**AGENT, "Idempotency-Key": key}
    )
    assert retry.status_code == 201
    assert [e.event_id for e in intake.event_log.events] == [intake.corrections.rows[key].event_id]


def test_the_location_command_documents_its_idempotency():
    operation = create_app(IntakeSettings(env=Environment.test)).openapi()["paths"][
        "/api/v1/agent/requests/{number}/location"
    ]["post"]
    assert "Idempotency-Key" in operation["description"] and "new correction" in operation["description"]
    assert {"200", "201", "401", "403", "404", "409", "422", "503"} <= set(operation["responses"])
    # The acting agent comes from the staff token (security `staffToken`), no longer from a header.
    assert {p["name"] for p in operation["parameters"]} == {"number", "Idempotency-Key"}
    assert operation["security"] == [{"staffToken": []}]
