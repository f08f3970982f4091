import logging

import pytest
from civicloop_events import ServiceRequestSubmitted, decode_event
from civicloop_runtime.vault import ResidentKeyVault

pytestmark = pytest.mark.integration

CONTACT = {"name": "Zephyrine Quillfeather", "email": "Zephyrine.Q@Example.org", "phone": "(202) 555-0143"}
# Every way the contact could leak: as given, normalised, in pieces.
CLEAR = [
    b"Zephyrine",
    b"Quillfeather",
    b"zephyrine.q",
    b"Zephyrine.Q",
    b"2025550143",
    b"555-0143",
    b"555) 555",
]
BODY = {
    "service_code": "pothole",
    "description": "Deep hole by the bus stop",
    "lat": 38.9101,
    "long": -77.0147,
    "address_string": "1 Main St",
    "attributes": {"depth": ["deep"]},
    "media_url": "https://img.example.net/p.jpg",
    "contact": CONTACT,
    "preferred_channel": "sms",
    "source": "mobile",
}


async def test_a_submission_lands_on_the_log_with_the_contact_sealed(intake, caplog):
    caplog.set_level(logging.DEBUG)
    r = await intake.client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "sealed-1"})
    assert r.status_code == 201, r.text
    number = r.json()["request_number"]
    position = r.json()["position"]
    assert r.headers["CivicLoop-Position"] == f"{position['partition']}:{position['offset']}"

    [record] = await intake.records()
    assert (record.partition, record.offset) == (position["partition"], position["offset"])
    assert record.key == number.encode()
    assert dict(record.headers)["event_type"] == ServiceRequestSubmitted.event_type.encode()
    for clear in CLEAR:
        assert clear not in record.value, clear

    event = decode_event(record.value)
    assert event.request_id == number and event.jurisdiction_id == "demo" and event.source == "mobile"
    assert isinstance(event.payload, ServiceRequestSubmitted)
    assert event.payload.location.lat == 38.9101 and event.payload.location.address_string == "1 Main St"
    assert event.payload.attributes == {"depth": ["deep"]}
    assert event.payload.preferred_channel.value == "sms"
    # Sealed, not dropped: the vault opens it again, normalised.
    contact = await ResidentKeyVault(intake.pool, pepper=intake.settings.pepper).unseal(event.payload.contact)
    assert (contact.name, contact.email, contact.phone) == (
        "Zephyrine Quillfeather",
        "Zephyrine.Q@example.org",
        "+12025550143",
    )

    # Nor in intake's own tables, once the track view has folded the event too.
    assert (
        await intake.client.post("/api/v1/track", json={"number": number, "phone": "2025550143"})
    ).status_code == 200
    async with intake.pool.connection() as conn:
        for table in ("submissions", "tracking", "services", "inbox"):
            cur = await conn.execute(f"select coalesce(string_agg(t::text, ' '), '') from intake.{table} t")
            dump = (await cur.fetchone())[0].encode()
            for clear in CLEAR:
                assert clear not in dump, (table, clear)
    # Everything the process logged, bar the test's own HTTP client (which prints the URLs it calls).
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != "httpx").encode()
    assert number.encode() in logged  # the log does speak of the request...
    for clear in CLEAR:
        assert clear not in logged, clear  # ...never of the person


async def test_an_unknown_service_code_is_a_422_on_service_code(intake):
    r = await intake.client.post("/api/v1/requests", json={**BODY, "service_code": "unicorn"})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "service_code"] and error["type"] == "unknown_service_code"
    assert await intake.records() == []


async def test_a_withdrawn_service_takes_no_requests(intake):
    r = await intake.client.post(
        "/api/v1/requests", json={**BODY, "service_code": "graffiti", "attributes": {}}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "inactive_service_code"


async def test_the_jurisdiction_must_have_the_service(intake):
    r = await intake.client.post("/api/v1/requests", json={**BODY, "jurisdiction_id": "elsewhere"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "service_code"]


async def test_readyz_is_200_when_database_migrations_and_kafka_are_up(intake):
    r = await intake.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": True, "migrations": True, "kafka": True}}


async def test_metrics_count_published_events(intake):
    await intake.client.post("/api/v1/requests", json=BODY)
    metrics = (await intake.client.get("/metrics")).text
    assert f'civicloop_events_published_total{{type="{ServiceRequestSubmitted.event_type}"}}' in metrics
