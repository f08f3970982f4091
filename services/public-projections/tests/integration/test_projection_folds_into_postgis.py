"""Events on the real broker -> rows, history and catalogue in the real PostGIS."""

from __future__ import annotations

import json

import pytest
from civicloop_events.payloads import ServiceRequestSubmitted
from civicloop_testing.legacy_events import submitted_v1
from projection_events import (
    area_defined,
    comment,
    new_jurisdiction,
    new_number,
    sealed_contact,
    service_defined,
    square,
    status_changed,
    submitted,
)
from projection_harness import agent_caught_up, config_applied, consumers_running
from psycopg.rows import dict_row

pytestmark = pytest.mark.integration


async def request_row(projections, number: str) -> dict | None:
    async with projections.pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            """select *, ST_Y(location::geometry) as lat, ST_X(location::geometry) as long
                 from projections.agent_requests where request_number = %s""",
            (number,),
        )
        return await cur.fetchone()


async def history_rows(projections, number: str) -> list[dict]:
    async with projections.pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "select * from projections.agent_request_history where request_number = %s order by partition, kafka_offset",
            (number,),
        )
        return await cur.fetchall()


async def test_a_request_lifecycle_becomes_one_row_and_its_history(projections, request_producer):
    j, number = new_jurisdiction(), new_number()
    contact = sealed_contact()
    config = [
        service_defined(j, "pothole", "Pothole"),
        area_defined(j, "district-1", square(-118.3, 34.0, 0.1)),
    ]
    events = [
        submitted(number, j, contact=contact, minutes=0),
        status_changed(number, j, "acknowledged", previous="open", minutes=5, external_status_code="ACK"),
        comment(number, j, minutes=7),
        status_changed(number, j, "closed", previous="acknowledged", minutes=30),
    ]
    async with consumers_running(projections):
        await config_applied(projections, config)
        positions = [await request_producer.publish(e) for e in events]
        await agent_caught_up(projections, positions)

    row = await request_row(projections, number)
    assert row is not None
    assert (row["jurisdiction_id"], row["service_code"], row["service_name"]) == (j, "pothole", "Pothole")
    assert (row["status"], row["external_status_code"]) == ("closed", None)
    assert (row["lat"], row["long"]) == pytest.approx((34.05, -118.25))
    assert row["service_area_id"] == "district-1"
    assert row["resident_id"] == contact.resident_id
    assert row["preferred_channel"] == "sms"
    assert row["attributes"] == {"size": ["large"]}
    assert row["media_urls"] == ["https://img.example/1.jpg"]
    assert row["event_count"] == 4
    assert row["last_event_id"] == events[-1].event_id
    assert row["submitted_at"] == events[0].occurred_at
    assert row["updated_at"] == row["closed_at"] == events[-1].occurred_at

    history = await history_rows(projections, number)
    assert [h["event_id"] for h in history] == [e.event_id for e in events]
    assert [h["kafka_offset"] for h in history] == [p.offset for p in positions]
    assert {h["partition"] for h in history} == {positions[0].partition}
    assert history[1]["summary"]["external_status_code"] == "ACK"
    assert (history[1]["actor_kind"], history[1]["actor_id"], history[1]["source"]) == (
        "agent",
        "agent-7",
        "agent",
    )
    # The sealed contact stays on the log: neither the key nor the ciphertext reach the agent view's history.
    assert "contact" not in history[0]["summary"]
    assert contact.ciphertext not in json.dumps([h["summary"] for h in history])


async def test_a_v1_submission_is_upcast_and_projected_with_its_location(projections, request_producer):
    j, number = new_jurisdiction(), new_number()
    v1 = submitted_v1(
        number,
        jurisdiction_id=j,
        service_code="graffiti",
        description="tag on the wall",
        lat=34.1,
        long=-118.3,
        address_string="1 Main St",
        media_url="https://img.example/old.jpg",
    )
    assert v1.schema_version == 1
    async with consumers_running(projections):
        await agent_caught_up(projections, [await request_producer.publish(v1)])

    row = await request_row(projections, number)
    assert (row["lat"], row["long"], row["address_string"]) == (
        pytest.approx(34.1),
        pytest.approx(-118.3),
        "1 Main St",
    )
    assert row["media_urls"] == ["https://img.example/old.jpg"]
    assert row["preferred_channel"] == "none"
    [entry] = await history_rows(projections, number)
    assert entry["schema_version"] == ServiceRequestSubmitted.schema_version  # as read, after the upcasts
    assert entry["summary"]["location"] == {
        "lat": 34.1,
        "long": -118.3,
        "address_string": "1 Main St",
        "address_id": None,
    }


async def test_the_same_event_published_twice_is_applied_once(projections, request_producer):
    j, number = new_jurisdiction(), new_number()
    event = submitted(number, j)
    first = await request_producer.publish(event)
    second = await request_producer.publish(event)
    assert second.offset == first.offset + 1
    async with consumers_running(projections):
        await agent_caught_up(projections, [second])

    assert (await request_row(projections, number))["event_count"] == 1
    history = await history_rows(projections, number)
    assert [(h["event_id"], h["kafka_offset"]) for h in history] == [(event.event_id, first.offset)]


async def test_an_event_of_an_unknown_request_is_kept_in_history_and_creates_no_row(
    projections, request_producer
):
    j, number = new_jurisdiction(), new_number()
    orphan = status_changed(number, j, "closed", minutes=1)
    async with consumers_running(projections):
        await agent_caught_up(projections, [await request_producer.publish(orphan)])
        assert await request_row(projections, number) is None
        assert [h["event_id"] for h in await history_rows(projections, number)] == [orphan.event_id]

        # The consumer moved on: a later submission of the same number is projected as usual.
        later = submitted(number, j, minutes=2)
        await agent_caught_up(projections, [await request_producer.publish(later)])
    row = await request_row(projections, number)
    assert (row["status"], row["event_count"]) == ("open", 1)


async def test_catalogue_arriving_after_the_request_still_names_it_and_places_it(
    projections, request_producer
):
    j, inside, outside = new_jurisdiction(), new_number(), new_number()
    async with consumers_running(projections):
        positions = [
            await request_producer.publish(submitted(inside, j, lat=34.05, long=-118.25)),
            await request_producer.publish(submitted(outside, j, lat=35.5, long=-119.5)),
        ]
        await agent_caught_up(projections, positions)
        assert (await request_row(projections, inside))["service_name"] is None

        config = [
            service_defined(j, "pothole", "Pothole"),
            area_defined(j, "district-1", square(-118.3, 34.0, 0.1)),
        ]
        await config_applied(projections, config)
    inside_row, outside_row = await request_row(projections, inside), await request_row(projections, outside)
    assert (inside_row["service_name"], inside_row["service_area_id"]) == ("Pothole", "district-1")
    assert (outside_row["service_name"], outside_row["service_area_id"]) == ("Pothole", None)


async def test_a_redefined_area_adds_a_version_and_moves_the_requests_it_no_longer_covers(
    projections, request_producer
):
    j, east, west = new_jurisdiction(), new_number(), new_number()
    async with consumers_running(projections):
        await config_applied(
            projections,
            [
                area_defined(j, "big", square(-118.4, 34.0, 0.2)),
                area_defined(j, "small", square(-118.22, 34.04, 0.02)),
            ],
        )
        await agent_caught_up(
            projections,
            [
                await request_producer.publish(submitted(east, j, lat=34.05, long=-118.21)),
                await request_producer.publish(submitted(west, j, lat=34.05, long=-118.35)),
            ],
        )
        # The smallest covering area wins where areas overlap.
        assert (await request_row(projections, east))["service_area_id"] == "small"
        assert (await request_row(projections, west))["service_area_id"] == "big"

        # "small" moves west: `east` falls back to "big", `west` now lies in "small".
        await config_applied(projections, [area_defined(j, "small", square(-118.36, 34.04, 0.02))])
    assert (await request_row(projections, east))["service_area_id"] == "big"
    assert (await request_row(projections, west))["service_area_id"] == "small"
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select version, is_current, GeometryType(geometry) from projections.service_areas"
            " where jurisdiction_id = %s and area_id = 'small' order by version",
            (j,),
        )
        assert await cur.fetchall() == [(1, False, "MULTIPOLYGON"), (2, True, "MULTIPOLYGON")]
