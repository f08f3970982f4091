"""The dispatcher's batch handler on the real PostGIS: a batch of request events queues exactly what dispatching them
one at a time queues (same rows, same order), and remembers the same imports."""

from __future__ import annotations

from typing import Any

import pytest
from civicloop_events import Actor, ActorKind, Location, ServiceAreaDefined, ServiceRequestSubmitted
from civicloop_events.payloads import (
    BodyPaused,
    CommentAdded,
    Priority,
    RequestImported,
    RoutingRule,
    RoutingRulesDefined,
)
from civicloop_events.request_numbers import new_request_number
from civicloop_outbound.service_layer.dispatcher import Dispatcher
from civicloop_testing.events import request_event
from outbound_harness import OutboundWorld, roads_by_email, service

pytestmark = pytest.mark.integration

RESIDENT = Actor(kind=ActorKind.resident, id=None)
DOWNTOWN = {
    "type": "Polygon",
    "coordinates": [[[-89.7, 39.7], [-89.6, 39.7], [-89.6, 39.8], [-89.7, 39.8], [-89.7, 39.7]]],
}


def _events(city: str) -> list[Any]:
    def on(payload: Any, request_id: str, source: str = "web") -> Any:
        return request_event(
            payload, request_id=request_id, actor=RESIDENT, source=source, jurisdiction_id=city
        )

    def pothole(description: str, lat: float | None = 39.75, long: float | None = -89.65) -> Any:
        return ServiceRequestSubmitted(
            service_code="POTHOLE",
            description=description,
            location=Location(lat=lat, long=long, address_string="1 Main St"),
        )

    imported, imported_late = new_request_number(), new_request_number()
    urgent = new_request_number()
    return [
        on(pothole("downtown hole"), new_request_number()),
        on(pothole("hole out of town", lat=39.95), new_request_number()),
        on(pothole("hole by address", lat=None, long=None), new_request_number()),
        on(RequestImported(body_id="roads", external_id="WO-1", backend_service_code="PH"), imported),
        on(pothole("imported hole"), imported),  # came from the back-end: not sent back
        on(pothole("from a back-end"), new_request_number(), source="backend:roads"),
        on(
            ServiceRequestSubmitted(service_code="TREE", location=Location(lat=39.75, long=-89.65)),
            new_request_number(),
        ),
        on(pothole("URGENT: open manhole"), urgent),
        on(CommentAdded(text="any news?"), urgent),
        on(pothole("sent, then imported"), imported_late),  # the import after it does not unsend it
        on(RequestImported(body_id="roads", external_id="WO-2", backend_service_code="PH"), imported_late),
    ]


async def _dispatched(w: OutboundWorld, city: str, apply) -> tuple[list[tuple], list[tuple]]:
    """What `apply` queues and remembers, in a transaction rolled back afterwards."""
    async with w.pool.connection() as conn, conn.transaction(force_rollback=True):
        await apply(conn)
        cur = await conn.execute(
            "select request_id, body_id, method, purpose, payload, causation_id from outbound.outbound_queue"
            " where jurisdiction_id = %s order by seq",
            (city,),
        )
        queued = await cur.fetchall()
        cur = await conn.execute(
            "select request_id, body_id, external_id from outbound.outbound_imported order by 1"
        )
        imported = await cur.fetchall()
    return queued, imported


async def test_a_batch_queues_what_dispatching_its_events_one_at_a_time_queues(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    city = await w.new_city(
        "batch",
        service("POTHOLE", "Pothole"),
        ServiceAreaDefined(area_id="downtown", name="Downtown", kind="district", geometry=DOWNTOWN),
        roads_by_email(priority_email="roads-urgent@springfield.example.gov", category_methods={}),
        RoutingRulesDefined(
            rules=[
                RoutingRule(name="dt", area_ids=["downtown"], team="crew-dt"),
                RoutingRule(name="urgent", text_pattern="urgent", priority=Priority.high),
            ]
        ),
        BodyPaused(body_id="roads", reason="the rows stay queued while the test looks"),
    )
    events = _events(city)
    dispatcher = Dispatcher(w.request_producer)

    async def one_at_a_time(conn) -> None:
        for event in events:
            await dispatcher(conn, event)

    async def at_once(conn) -> None:
        await dispatcher.dispatch(conn, events)

    expected = await _dispatched(w, city, one_at_a_time)
    assert await _dispatched(w, city, at_once) == expected
    queued, imported = expected
    # Delivered: the city's own potholes (not the imported one, nor the back-end's, nor the unhandled TREE); one
    # imported after it was submitted stays sent.
    assert [(r[0], r[3]) for r in queued] == [
        (events[0].request_id, "deliver"),
        (events[1].request_id, "deliver"),
        (events[2].request_id, "deliver"),
        (events[7].request_id, "deliver"),
        (events[9].request_id, "deliver"),
    ]
    assert queued[0][4]["team"] == "crew-dt" and queued[1][4]["team"] is None
    assert queued[2][4]["area_ids"] is None and queued[3][4]["priority"] == "high"
    assert {r[0] for r in imported} >= {events[3].request_id, events[10].request_id}
