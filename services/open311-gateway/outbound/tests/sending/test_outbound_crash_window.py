"""The one window exactly-once cannot close: the back-end accepted an item, but the outcome could not be recorded
(here the broker is unreachable for the sender). The row stays queued and is sent again with the same delivery id,
which the back-end can use to drop the repeat; the item is never lost. The admin status API needs the admin token."""

from __future__ import annotations

import pytest
from civicloop_events.payloads import SendMethod, SentToBackend, WebhookConnection
from civicloop_events.producer import EventProducer
from civicloop_outbound.adapters.webhook_sender import WebhookSender
from civicloop_outbound.service_layer.sender_loop import SenderLoop
from civicloop_testing.lifecycle import started
from civicloop_testing.staff_tokens import staff_headers
from outbound_harness import (
    WEBHOOK_SECRET_REF,
    OutboundWorld,
    WebhookReceiver,
    by_open311,
    service,
)

pytestmark = pytest.mark.integration


async def test_an_unrecorded_success_is_sent_again_with_the_same_delivery_id(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    async with started(WebhookReceiver()) as receiver:
        # An open311-method body (no sender for it in the app) reached by the webhook sender of this test's loops.
        city = await w.new_city(
            "crash",
            service("POTHOLE", "Pothole"),
            by_open311(
                "roads",
                "Roads",
                "POTHOLE",
                webhook=WebhookConnection(url=receiver.url, secret_ref=WEBHOOK_SECRET_REF),
            ),
        )
        rid = await w.submit(city, "POTHOLE")

        await w.wait_queued(city)
        senders = {SendMethod.open311: WebhookSender(timeout_s=5)}
        # A real producer whose connection is gone: its publishes never complete.
        gone = EventProducer(
            w.settings.kafka_bootstrap, w.topics.request_events, client_id="outbound-crash-test"
        )
        await gone.start()
        await gone.stop()
        broken = SenderLoop(
            pool=w.pool,
            producer=gone,
            senders=senders,
            settings=w.settings.model_copy(update={"publish_timeout_s": 0.5}),
        )
        assert await broken.run_once() == 0
        assert receiver.requests_delivered() == [rid], "the back-end got it"
        [row] = await w.queue_rows(city)
        assert (row["state"], row["attempts"]) == ("queued", 0), "but nothing was recorded"

        healthy = SenderLoop(pool=w.pool, producer=w.request_producer, senders=senders, settings=w.settings)
        assert await healthy.run_once() == 1
        assert receiver.requests_delivered() == [rid, rid]
        first, second = receiver.delivered
        assert first["delivery_id"] == second["delivery_id"]
        assert first["_headers"]["x-civicloop-delivery"] == second["_headers"]["x-civicloop-delivery"]
        [row] = await w.queue_rows(city)
        assert (row["state"], row["attempts"]) == ("sent", 1)
        assert len(await w.events_of(rid, SentToBackend.event_type)) == 1


async def test_the_status_api_needs_an_admin_or_auditor_token(outbound_world: OutboundWorld) -> None:
    """401 without a token or with one that is not valid; 403 for another role or another jurisdiction."""
    r = await outbound_world.client.get("admin/outbound/bodies.json")
    assert r.status_code == 401
    r = await outbound_world.client.get(
        "admin/outbound/bodies.json", headers={"Authorization": "Bearer wrong"}
    )
    assert r.status_code == 401
    r = await outbound_world.client.get(
        "admin/outbound/bodies.json", headers=staff_headers(None, "agent", "supervisor")
    )
    assert r.status_code == 403
    r = await outbound_world.client.get(
        "admin/outbound/bodies.json",
        params={"jurisdiction_id": "another-city"},
        headers=staff_headers(None, "admin", jurisdiction_id="demo"),
    )
    assert r.status_code == 403
