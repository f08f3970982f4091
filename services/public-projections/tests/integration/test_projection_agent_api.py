"""The agents' HTTP API over a projection fed through the real broker: filters, paging, errors, read-your-writes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import pytest
import pytest_asyncio
from civicloop_events.payloads import ServiceRequestSubmitted
from civicloop_events.producer import EventProducer
from civicloop_projections.adapters.agent_views import filter_sql
from civicloop_projections.domain.queries import AgentRequestFilter, Bbox
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import publish_events
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers
from httpx import AsyncClient
from projection_events import (
    area_defined,
    new_jurisdiction,
    new_number,
    service_defined,
    square,
    status_changed,
    submitted,
)
from projection_harness import api_client, migrate, query_plan, settings_for

pytestmark = pytest.mark.integration
NOT_FOUND_WAIT_S = 1.0


@dataclass
class Dataset:
    client: AsyncClient
    dsn: str
    producer: EventProducer
    jurisdiction: str
    other_jurisdiction: str
    numbers: dict[str, str]  # label -> request number
    tied: list[str]  # requests sharing one updated_at


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def dataset(pg_admin_dsn, kafka_bootstrap):
    dsn = migrate(create_database(pg_admin_dsn))
    topics = await make_topics(kafka_bootstrap)
    settings = settings_for(dsn, topics, kafka_bootstrap, read_your_writes_timeout_s=NOT_FOUND_WAIT_S)
    j, other = new_jurisdiction(), new_jurisdiction()
    producer = EventProducer(kafka_bootstrap, topics.request_events)
    await producer.start()
    configuration = [
        service_defined(j, "pothole", "Pothole"),
        service_defined(j, "graffiti", "Graffiti Removal"),
        area_defined(j, "north", square(-118.3, 34.1, 0.1)),
        area_defined(j, "south", square(-118.3, 34.0, 0.1), kind="ward"),
    ]
    await publish_events(kafka_bootstrap, topics.jurisdiction_config, configuration)

    n = {
        label: new_number()
        for label in ("south_open", "north_ack", "north_closed", "south_graffiti", "no_point")
    }
    tied = [new_number() for _ in range(7)]
    events = [
        submitted(n["south_open"], j, lat=34.05, long=-118.25, minutes=0),
        submitted(n["north_ack"], j, lat=34.15, long=-118.25, minutes=1),
        status_changed(n["north_ack"], j, "acknowledged", previous="open", minutes=10),
        submitted(n["north_closed"], j, service_code="graffiti", lat=34.15, long=-118.28, minutes=2),
        status_changed(n["north_closed"], j, "closed", previous="open", minutes=20),
        submitted(n["south_graffiti"], j, service_code="graffiti", lat=34.05, long=-118.22, minutes=30),
        submitted(n["no_point"], j, lat=None, long=None, address="City Hall", minutes=40),
        *(
            submitted(number, j, service_code="streetlight", lat=34.12, long=-118.21, minutes=50)
            for number in tied
        ),
        submitted(new_number(), other, minutes=60),
    ]
    async with api_client(settings, jurisdiction_id=j) as client:
        last = None
        for event in events:
            last = await producer.publish(event)
        r = await client.get("/api/v1/agent/requests", params={"after": f"{last.partition}:{last.offset}"})
        assert r.status_code == 200

        async def everything_projected() -> bool:
            page = await client.get("/api/v1/agent/requests", params={"limit": 500})
            others = await client.get("/api/v1/agent/requests", headers=staff_headers(jurisdiction_id=other))
            return (len(page.json()["items"]), len(others.json()["items"])) == (12, 1)

        async def catalogue_projected() -> bool:
            areas = await client.get("/api/v1/agent/service-areas", params={"jurisdiction_id": j})
            return len(areas.json()["items"]) == 2

        # The two consumers run side by side: wait for both before asserting names and areas.
        await eventually(everything_projected, what="the dataset")
        await eventually(catalogue_projected, what="the catalogue")
        yield Dataset(client, dsn, producer, j, other, n, tied)
    await producer.stop()
    drop_database(pg_admin_dsn, dsn)


async def numbers_of(client: AsyncClient, headers: dict[str, str] | None = None, **params) -> list[str]:
    r = await client.get("/api/v1/agent/requests", params={"limit": 500, **params}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return [item["request_number"] for item in r.json()["items"]]


async def test_lists_most_recently_updated_first(dataset):
    items = (
        await dataset.client.get(
            "/api/v1/agent/requests", params={"jurisdiction_id": dataset.jurisdiction, "limit": 500}
        )
    ).json()["items"]
    keys = [(item["updated_at"], item["request_number"]) for item in items]
    assert keys == sorted(keys, key=lambda k: (-_epoch(k[0]), k[1]))
    assert len(items) == 12
    first = next(i for i in items if i["request_number"] == dataset.numbers["north_ack"])
    assert (first["status"], first["service_name"], first["service_area_id"]) == (
        "acknowledged",
        "Pothole",
        "north",
    )
    assert first["location"] == {"lat": pytest.approx(34.15), "long": pytest.approx(-118.25)}
    assert "contact" not in first and "history" not in first


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_status_is_repeatable(dataset):
    n = dataset.numbers
    got = await numbers_of(
        dataset.client, jurisdiction_id=dataset.jurisdiction, status=["acknowledged", "closed"]
    )
    assert sorted(got) == sorted([n["north_ack"], n["north_closed"]])


async def test_filters_by_service_code_and_area(dataset):
    n = dataset.numbers
    assert sorted(await numbers_of(dataset.client, service_code="graffiti")) == sorted(
        [n["north_closed"], n["south_graffiti"]]
    )
    assert sorted(await numbers_of(dataset.client, service_area_id="south")) == sorted(
        [n["south_open"], n["south_graffiti"]]
    )
    assert await numbers_of(dataset.client, service_area_id="south", service_code="graffiti") == [
        n["south_graffiti"]
    ]


async def test_filters_by_bounding_box(dataset):
    n = dataset.numbers
    # North-west quarter of the city: only the two northern requests west of -118.24.
    got = await numbers_of(dataset.client, bbox="-118.30,34.10,-118.24,34.20")
    assert sorted(got) == sorted([n["north_ack"], n["north_closed"]])
    assert await numbers_of(dataset.client, bbox="10,10,11,11") == []


async def test_filters_by_since_and_jurisdiction(dataset):
    n = dataset.numbers
    got = await numbers_of(
        dataset.client, jurisdiction_id=dataset.jurisdiction, since="2026-03-01T09:30:00+00:00"
    )
    assert sorted(got) == sorted([n["south_graffiti"], n["no_point"], *dataset.tied])
    # A time without an offset is read as UTC.
    assert sorted(
        await numbers_of(dataset.client, jurisdiction_id=dataset.jurisdiction, since="2026-03-01T09:40:00")
    ) == sorted([n["no_point"], *dataset.tied])
    # The token reads its own jurisdiction: another's needs a token of that jurisdiction.
    other = staff_headers(jurisdiction_id=dataset.other_jurisdiction)
    assert len(await numbers_of(dataset.client, other, jurisdiction_id=dataset.other_jurisdiction)) == 1
    assert len(await numbers_of(dataset.client, other)) == 1


async def test_a_token_reads_its_own_jurisdiction_only(dataset):
    """Naming another jurisdiction is refused; another jurisdiction's request is unknown, as is its reference."""
    other = dataset.other_jurisdiction
    for path in ("/api/v1/agent/requests", "/api/v1/agent/service-areas", "/api/v1/agent/queues"):
        r = await dataset.client.get(path, params={"jurisdiction_id": other})
        assert r.status_code == 403, (path, r.text)
    number = dataset.numbers["north_closed"]
    theirs = await dataset.client.get(
        f"/api/v1/agent/requests/{number}", headers=staff_headers(jurisdiction_id=other)
    )
    assert theirs.status_code == 404
    mine = await dataset.client.get(f"/api/v1/agent/requests/{number}")
    assert mine.status_code == 200


@pytest.mark.parametrize("limit", [1, 3, 5])
async def test_keyset_pages_cover_everything_once_even_across_ties(dataset, limit):
    everything = await numbers_of(dataset.client, jurisdiction_id=dataset.jurisdiction)
    paged, cursor, pages = [], None, 0
    while True:
        params = {
            "jurisdiction_id": dataset.jurisdiction,
            "limit": limit,
            **({"cursor": cursor} if cursor else {}),
        }
        body = (await dataset.client.get("/api/v1/agent/requests", params=params)).json()
        assert len(body["items"]) <= limit
        paged += [item["request_number"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == everything
    assert pages == -(-len(everything) // limit)


@pytest.mark.parametrize(
    ("params", "headers", "loc"),
    [
        ({"bbox": "1,2,3"}, {}, ["query", "bbox"]),
        ({"bbox": "-118,35,-119,34"}, {}, ["query", "bbox"]),
        ({"bbox": "a,b,c,d"}, {}, ["query", "bbox"]),
        ({"cursor": "not-a-cursor"}, {}, ["query", "cursor"]),
        ({"limit": "0"}, {}, ["query", "limit"]),
        ({"limit": "501"}, {}, ["query", "limit"]),
        ({"status": "lost"}, {}, ["query", "status", 0]),
        ({"since": "yesterday"}, {}, ["query", "since"]),
        ({"after": "3"}, {}, ["query", "after"]),
        ({}, {"CivicLoop-Position": "one:two"}, ["header", "CivicLoop-Position"]),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(dataset, params, headers, loc):
    r = await dataset.client.get("/api/v1/agent/requests", params=params, headers=headers)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [loc]


async def test_a_bad_request_number_is_422(dataset):
    r = await dataset.client.get("/api/v1/agent/requests/not-a-number")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "number"]


async def test_one_request_with_its_history_in_log_order_any_case(dataset):
    number = dataset.numbers["north_closed"]
    r = await dataset.client.get(f"/api/v1/agent/requests/{number.lower()}")
    assert r.status_code == 200
    body = r.json()
    assert (body["request_number"], body["status"], body["event_count"]) == (number, "closed", 2)
    assert [h["type"] for h in body["history"]] == [
        ServiceRequestSubmitted.event_type,
        "request.status.changed",
    ]
    assert body["history"][0]["offset"] < body["history"][1]["offset"]
    assert body["history"][1]["summary"]["status"] == "closed"
    assert body["history"][1]["actor"] == {"kind": "agent", "id": "agent-7"}


async def test_an_unknown_request_is_404_after_a_bounded_wait(dataset):
    started = time.monotonic()
    r = await dataset.client.get(f"/api/v1/agent/requests/{new_number()}")
    elapsed = time.monotonic() - started
    assert r.status_code == 404
    assert NOT_FOUND_WAIT_S * 0.9 <= elapsed < NOT_FOUND_WAIT_S + 2
    assert "CivicLoop-Position-Applied" not in r.headers  # no position asked for: nothing to say of one


async def test_a_404_says_the_callers_position_was_not_reached_yet(dataset):
    r = await dataset.client.get(f"/api/v1/agent/requests/{new_number()}", params={"after": "0:999999999"})
    assert r.status_code == 404
    assert r.headers["CivicLoop-Position-Applied"] == "false"  # not found *yet*: the caller may ask again


async def test_a_get_with_the_position_of_a_fresh_submission_sees_it(dataset):
    number = new_number()
    position = await dataset.producer.publish(
        submitted(number, dataset.jurisdiction, service_code="fresh", minutes=90)
    )
    token = f"{position.partition}:{position.offset}"

    r = await dataset.client.get(f"/api/v1/agent/requests/{number}", headers={"CivicLoop-Position": token})
    assert r.status_code == 200
    assert r.headers["CivicLoop-Position-Applied"] == "true"
    assert r.json()["service_code"] == "fresh"

    listed = await dataset.client.get(
        "/api/v1/agent/requests", params={"after": token, "service_code": "fresh"}
    )
    assert [i["request_number"] for i in listed.json()["items"]] == [number]


async def test_a_position_never_reached_answers_after_the_bound_and_says_so(dataset):
    started = time.monotonic()
    r = await dataset.client.get("/api/v1/agent/requests", params={"after": "0:999999999", "limit": 1})
    assert r.status_code == 200
    assert r.headers["CivicLoop-Position-Applied"] == "false"
    assert time.monotonic() - started >= NOT_FOUND_WAIT_S * 0.9


async def test_service_areas_without_and_with_geometry(dataset):
    r = await dataset.client.get(
        "/api/v1/agent/service-areas", params={"jurisdiction_id": dataset.jurisdiction}
    )
    items = r.json()["items"]
    assert [(a["id"], a["name"], a["kind"], a["version"]) for a in items] == [
        ("north", "North", "council_district", 1),
        ("south", "South", "ward", 1),
    ]
    assert all("geometry" not in a for a in items)

    r = await dataset.client.get(
        "/api/v1/agent/service-areas",
        params={"jurisdiction_id": dataset.jurisdiction, "kind": "ward", "geometry": "true"},
    )
    [south] = r.json()["items"]
    assert south["geometry"]["type"] == "MultiPolygon"
    ring = south["geometry"]["coordinates"][0][0]
    assert {tuple(p) for p in ring} >= {(-118.3, 34.0), (-118.2, 34.1)}


async def test_operations_endpoints(dataset):
    assert (await dataset.client.get("/healthz")).json() == {"status": "ok"}
    ready = await dataset.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": True, "migrations": True, "consumers": True}
    metrics = (await dataset.client.get("/metrics")).text
    assert "civicloop_consumer_applied_total" in metrics
    assert "civicloop_projections_read_your_writes_wait_seconds" in metrics


async def test_a_bounding_box_is_served_by_the_planar_gist_index(dataset):
    where, params = filter_sql(AgentRequestFilter(bbox=Bbox.parse("-118.3,34.1,-118.2,34.2")), None)
    plan = await query_plan(
        dataset.dsn, f"select request_number from projections.agent_requests{where}", params
    )
    assert "agent_requests_location_planar" in plan, plan
