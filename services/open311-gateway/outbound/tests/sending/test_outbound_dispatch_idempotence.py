"""The dispatcher under repetition: a re-published event and a retried handler each enqueue once, and the Routed
event they publish again is the same event (same id), which every consumer's inbox drops."""

from __future__ import annotations

import asyncio

import pytest
from civicloop_events import Location, ServiceRequestSubmitted
from civicloop_events.payloads import BodyPaused
from civicloop_outbound.service_layer.dispatcher import Dispatcher, derived_event_id
from outbound_harness import OutboundWorld, roads_by_email, service

pytestmark = pytest.mark.integration


async def test_a_republished_event_and_a_retried_handler_enqueue_once(outbound_world: OutboundWorld) -> None:
    w = outbound_world
    city = await w.new_city("idem", service("POTHOLE", "Pothole"), roads_by_email())
    # The body is paused so the rows stay queued while we look at them.
    await w.configure(city, BodyPaused(body_id="roads", reason="test"))
    submitted = await w.publish_request(
        city, ServiceRequestSubmitted(service_code="POTHOLE", location=Location(lat=39.78, long=-89.6))
    )
    rid = submitted.request_id
    await w.request_producer.publish(submitted)  # a producer retry after a crash: the same event again
    await w.wait_queued(city)
    # A handler retried after it had published (its transaction rolled back) runs again in full:
    dispatcher = Dispatcher(w.request_producer)
    async with w.pool.connection() as conn, conn.transaction():
        await dispatcher(conn, submitted)
    await asyncio.sleep(0.3)
    assert len(await w.queue_rows(city)) == 1
    routed = await w.events_of(rid, "request.routed")
    assert len(routed) == 2  # on the log twice ...
    assert {e.event_id for e in routed} == {
        derived_event_id("routed", submitted.event_id)
    }  # ... as one event
