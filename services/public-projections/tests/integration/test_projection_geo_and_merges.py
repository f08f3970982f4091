"""geo's placements, duplicate candidates and agents' merges, through the real broker into PostGIS and the API."""

from __future__ import annotations

import pytest
from civicloop_events import Event
from civicloop_events.payloads import AreaRef, MergedAsDuplicate
from civicloop_projections.adapters.agent_views import filter_sql
from civicloop_projections.domain.queries import AgentRequestFilter
from civicloop_testing import geo_events
from civicloop_testing.events import publish_events
from civicloop_testing.polling import eventually
from projection_events import (
    AGENT,
    area_defined,
    at,
    new_jurisdiction,
    new_number,
    square,
    status_changed,
    submitted,
)
from projection_harness import api_client, config_caught_up, numbers_of, query_plan

pytestmark = pytest.mark.integration


def geo(number: str, j: str, payload, *, minutes: int = 1) -> Event:
    return geo_events.geo_event(payload, request_id=number, jurisdiction_id=j, occurred_at=at(minutes))


def resolved(
    number: str, j: str, lat: float, long: float, areas: list[tuple[str, str]], *, minutes: int = 1
) -> Event:
    refs = [AreaRef(area_id=a, kind=kind, name=a.title(), version=1) for a, kind in areas]
    public = geo_events.public_place_at(lat, long, "200 block of X ST")
    return geo(
        number,
        j,
        geo_events.location_resolved(lat, long, "200 X St", public=public, areas=refs),
        minutes=minutes,
    )


async def test_placements_candidates_and_merges_reach_the_agent_view_and_its_filters(
    settings, request_producer, kafka_bootstrap
):
    j = new_jurisdiction()
    # The projection's own rule would put a point at (34.05, -118.25) in `small` (inside `big`).
    areas = [
        area_defined(j, "big", square(-118.3, 34.0, 0.2)),
        area_defined(j, "small", square(-118.26, 34.04, 0.02), kind="ward"),
    ]
    area_positions = await publish_events(kafka_bootstrap, settings.topics.jurisdiction_config, areas)

    original, duplicate, geocoded, outside, lost, plain = (new_number() for _ in range(6))
    events = [
        submitted(original, j, minutes=0),
        submitted(duplicate, j, minutes=1),
        geo(
            duplicate,
            j,
            geo_events.duplicate_suspected(
                [geo_events.duplicate_candidate(original, distance_m=8.5, submitted_at=at(0), score=0.93)]
            ),
            minutes=2,
        ),
        Event.create(
            MergedAsDuplicate(original_request_id=original, note="same hole"),
            request_id=duplicate,
            jurisdiction_id=j,
            actor=AGENT,
            source="agent",
            occurred_at=at(3),
        ),
        status_changed(original, j, "closed", previous="open", minutes=4),
        # Submitted as an address only: geo's point places it, and geo's areas win over the projection's rule.
        submitted(geocoded, j, lat=None, long=None, address="200 N Spring St", minutes=5),
        resolved(geocoded, j, 34.05, -118.25, [("big", "council_district")], minutes=6),
        submitted(outside, j, lat=35.5, long=-117.0, minutes=7),
        resolved(outside, j, 35.5, -117.0, [], minutes=8),
        submitted(lost, j, lat=None, long=None, address="nowhere lane", minutes=9),
        geo(lost, j, geo_events.address_not_found(0.2, "no such street"), minutes=10),
        submitted(plain, j, minutes=11),
    ]
    cluster = geo_events.cluster_detected(
        [original, duplicate],
        centre=geo_events.public_place_at(34.05, -118.25),
        radius_m=10,
        window_start=at(0),
        jurisdiction_id=j,
    )
    async with api_client(settings, jurisdiction_id=j) as client:
        # The projection's rule places `plain` only once the areas are known: their consumer goes first.
        await config_caught_up(settings, area_positions)
        await request_producer.publish(cluster)  # about no request: nothing to fold, nothing to dead-letter
        for e in events:
            await request_producer.publish(e)
        expected = {original: 2, duplicate: 3, geocoded: 2, outside: 2, lost: 2, plain: 1}

        async def all_applied() -> bool:
            items = (await client.get("/api/v1/agent/requests", params={"jurisdiction_id": j})).json()[
                "items"
            ]
            return {i["request_number"]: i["event_count"] for i in items} == expected

        await eventually(all_applied, what="the requests' events")

        body = (await client.get(f"/api/v1/agent/requests/{duplicate}")).json()
        assert (body["merged_into"], body["merge_note"], body["merged_at"]) == (
            original,
            "same hole",
            at(3).isoformat().replace("+00:00", "Z"),
        )
        assert body["duplicate_suspected"] is True
        assert body["duplicate_candidates"] == [
            {
                "request_id": original,
                "service_code": "pothole",
                "distance_m": 8.5,
                "submitted_at": body["duplicate_candidates"][0]["submitted_at"],
                "score": 0.93,
            }
        ]
        assert body["status"] == "open"  # a merge is not a status change
        body = (await client.get(f"/api/v1/agent/requests/{original}")).json()
        assert (body["status"], body["merged_into"], body["merged_duplicates"]) == (
            "closed",
            None,
            [duplicate],
        )

        body = (await client.get(f"/api/v1/agent/requests/{geocoded}")).json()
        assert body["location"] == {"lat": 34.05, "long": -118.25}
        assert body["placement"]["method"] == "geocoded" and body["placement"]["provider"] == "gazetteer"
        assert body["placement"]["address"] == "200 X St" and body["placement"]["confidence"] == 0.9
        assert body["service_areas"] == [
            {"area_id": "big", "kind": "council_district", "name": "Big", "version": 1}
        ]
        assert (body["service_area_id"], body["inside_jurisdiction"], body["needs_placing"]) == (
            "big",
            True,
            False,
        )

        body = (await client.get(f"/api/v1/agent/requests/{outside}")).json()
        assert (body["service_area_id"], body["service_areas"], body["inside_jurisdiction"]) == (
            None,
            [],
            False,
        )
        body = (await client.get(f"/api/v1/agent/requests/{lost}")).json()
        assert body["needs_placing"] is True and body["location"] is None and body["placement"] is None
        assert body["unplaced"]["reason"] == "address_not_found"
        body = (await client.get(f"/api/v1/agent/requests/{plain}")).json()
        assert (body["service_area_id"], body["service_areas"], body["inside_jurisdiction"]) == (
            "small",
            None,
            None,
        )

        everyone = sorted(expected)
        assert await numbers_of(client, jurisdiction_id=j, merged="false") == sorted(
            set(everyone) - {duplicate}
        )
        assert await numbers_of(client, jurisdiction_id=j, merged="true") == [duplicate]
        assert await numbers_of(client, jurisdiction_id=j, duplicate_suspected="true") == [duplicate]
        assert await numbers_of(client, jurisdiction_id=j, outside_jurisdiction="true") == [outside]
        assert outside not in await numbers_of(client, jurisdiction_id=j, outside_jurisdiction="false")
        assert await numbers_of(client, jurisdiction_id=j, unresolved="true") == [lost]
        # geo placed `geocoded` in `big` only; the projection's own rule still places the others in `small`.
        assert await numbers_of(client, jurisdiction_id=j, service_area_id="big") == [geocoded]
        assert await numbers_of(client, jurisdiction_id=j, service_area_id="small") == sorted(
            [original, duplicate, plain]
        )
        r = await client.get("/api/v1/agent/requests", params={"merged": "perhaps"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "merged"]

        # A new boundary re-resolves requests by the same rule: geo's areas still win for `geocoded`.
        tiny = area_defined(j, "tiny", square(-118.251, 34.049, 0.002), kind="block")
        await publish_events(kafka_bootstrap, settings.topics.jurisdiction_config, [tiny])

        async def tiny_known() -> bool:
            return (await client.get(f"/api/v1/agent/requests/{original}")).json()[
                "service_area_id"
            ] == "tiny"

        await eventually(tiny_known, what="the new area to place the submitted points")
        assert (await client.get(f"/api/v1/agent/requests/{geocoded}")).json()["service_area_id"] == "big"


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (AgentRequestFilter(merged=False), "agent_requests_unmerged_page"),
        (AgentRequestFilter(duplicate_suspected=True), "agent_requests_duplicate_suspected_page"),
        (AgentRequestFilter(outside_jurisdiction=True), "agent_requests_outside_jurisdiction_page"),
        (AgentRequestFilter(unresolved=True), "agent_requests_needs_placing_page"),
    ],
)
async def test_the_geo_and_merge_filters_are_served_by_their_indexes(migrated_dsn, query, index):
    where, params = filter_sql(query, None)
    page = f"select request_number from projections.agent_requests r{where}"
    plan = await query_plan(migrated_dsn, page + " order by updated_at desc, request_number limit 50", params)
    assert index in plan, plan
