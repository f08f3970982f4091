"""`request.delivery.requeued`: a given-up (or still queued) report goes back on its body's queue with fresh attempts
and its place in the body's order, once per event; a report already sent stays as it is. `civicloop-outbound
requeue` publishes one for each given-up report it names, as the operator."""

from __future__ import annotations

import uuid

import pytest
from civicloop_events import Actor, ActorKind, Event, derived_event_id
from civicloop_events.consumer import wait_until_applied
from civicloop_events.payloads import (
    BodyDefined,
    BodyPaused,
    BodyResumed,
    CommentAdded,
    CommentVisibility,
    DeliveryRequeued,
    SendMethod,
    SentToBackend,
    StuckReason,
    WebhookConnection,
)
from civicloop_events.producer import Position
from civicloop_outbound.service_layer.requeue import ID_NAMESPACE
from civicloop_testing.events import publish_events, request_event
from civicloop_testing.lifecycle import started
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers
from outbound_harness import WEBHOOK_SECRET_REF, OutboundWorld, WebhookReceiver, roads_by_email, service

pytestmark = pytest.mark.integration

SELFHEAL = Actor(kind=ActorKind.system, id="selfheal")


def works(receiver: WebhookReceiver) -> BodyDefined:
    return BodyDefined(
        body_id="works",
        name="Public Works",
        send_method=SendMethod.webhook,
        service_codes=["POTHOLE"],
        webhook=WebhookConnection(url=receiver.url, secret_ref=WEBHOOK_SECRET_REF),
    )


def requeued(
    w: OutboundWorld, city: str, request_id: str, *, attempts: int, n: int = 1, body_id: str = "works"
) -> Event[DeliveryRequeued]:
    """selfheal's requeue of the request's report to the body (its id derived, so a retry is the same event)."""
    return Event.create(
        DeliveryRequeued(body_id=body_id, reason=StuckReason.delivery_given_up, attempts=attempts),
        request_id=request_id,
        jurisdiction_id=city,
        actor=SELFHEAL,
        source="selfheal",
        event_id=derived_event_id("tests.requeue", city, request_id, n),
    )


async def publish_applied(w: OutboundWorld, *events: Event[DeliveryRequeued]) -> None:
    """Each event on the log by a producer of its own (a retry from another process), applied by the dispatcher."""
    positions: list[Position] = await publish_events(
        w.settings.kafka_bootstrap, w.topics.request_events, events, client_id="selfheal-tests"
    )
    for p in positions:
        assert await wait_until_applied(
            w.pool,
            schema="outbound",
            consumer=w.settings.outbound_dispatch_consumer_group,
            topic=p.topic,
            partition=p.partition,
            offset=p.offset,
            timeout_s=45,
        )


async def row_of(w: OutboundWorld, city: str, request_id: str) -> dict:
    """The request's queue row ({} before the dispatcher queued it)."""
    rows = [r for r in await w.queue_rows(city) if r["request_id"] == request_id]
    assert len(rows) <= 1
    return rows[0] if rows else {}


async def test_a_given_up_report_is_requeued_once_in_its_place_and_sent_once(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    async with started(WebhookReceiver(status=422)) as receiver:
        city = await w.new_city("requeue", service("POTHOLE", "Pothole"), works(receiver))
        refused = await w.submit(city, "POTHOLE")

        async def given_up() -> bool:
            return (await row_of(w, city, refused)).get("state") == "failed"

        await eventually(given_up, what="the refused report given up")
        await w.configure(city, BodyPaused(body_id="works", reason="tests"))
        later = await w.submit(city, "POTHOLE")
        await w.wait_queued(city, 2)

        # selfheal's requeue, published twice (a retried sweep): applied once.
        event = requeued(w, city, refused, attempts=1)
        await publish_applied(w, event, event)
        row = await row_of(w, city, refused)
        assert (row["state"], row["attempts"]) == ("queued", 0)
        async with w.pool.connection() as conn:
            cur = await conn.execute(
                "select requeues from outbound.outbound_queue where jurisdiction_id = %s and request_id = %s",
                (city, refused),
            )
            assert await cur.fetchone() == (1,)

        receiver.status = 200
        await w.configure(city, BodyResumed(body_id="works"))

        async def both_sent() -> bool:
            return len(receiver.delivered) == 2

        await eventually(both_sent, what="the requeued report and the later one")
        # The requeued report kept its place: it goes before the report submitted after it.
        assert receiver.requests_delivered() == [refused, later]
        [sent] = await w.events_of(refused, SentToBackend.event_type)
        assert sent.payload.attempt == 1  # its attempts started again

        # Once sent, a requeue (a new one) changes nothing.
        await publish_applied(w, requeued(w, city, refused, attempts=1, n=2))
        row = await row_of(w, city, refused)
        assert (row["state"], row["attempts"]) == ("sent", 1)
        assert len(receiver.delivered) == 2


async def test_a_report_still_retrying_starts_its_attempts_again_and_is_due_now(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    async with started(WebhookReceiver(status=503)) as receiver:
        city = await w.new_city("requeue-retrying", service("POTHOLE", "Pothole"), works(receiver))
        stuck = await w.submit(city, "POTHOLE")

        async def retried() -> bool:
            return (await row_of(w, city, stuck)).get("attempts", 0) >= 2

        await eventually(retried, what="a few failed attempts")
        receiver.status = 200
        # The back-off would wait; the requeue makes it due at once with fresh attempts.
        async with w.pool.connection() as conn:
            await conn.execute(
                "update outbound.outbound_queue set next_attempt_at = now() + interval '1 hour'"
                " where jurisdiction_id = %s and request_id = %s",
                (city, stuck),
            )
        await publish_applied(w, requeued(w, city, stuck, attempts=2))

        async def sent() -> bool:
            return (await row_of(w, city, stuck))["state"] == "sent"

        await eventually(sent, what="the requeued report sent")
        assert receiver.requests_delivered() == [stuck]
        [done] = await w.events_of(stuck, SentToBackend.event_type)
        assert done.payload.attempt == 1


async def test_the_requeue_cli_publishes_one_requeue_per_given_up_report_as_the_operator(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    async with started(WebhookReceiver(status=422)) as receiver:
        city = await w.new_city("requeue-cli", service("POTHOLE", "Pothole"), works(receiver))
        first, second = await w.submit(city, "POTHOLE"), await w.submit(city, "POTHOLE")

        async def both_given_up() -> bool:
            return [r["state"] for r in await w.queue_rows(city)] == ["failed", "failed"]

        await eventually(both_given_up, what="both reports given up")
        code, out = await w.cli("requeue")
        assert code != 0 and "--request or --body" in out, out

        await w.configure(city, BodyPaused(body_id="works", reason="tests"))
        code, out = await w.cli("requeue", "--request", first, "--operator", "alice")
        assert code == 0 and f"requeued {first} to {city}/works" in out and second not in out, out
        code, out = await w.cli("requeue", "--body", "works", "-j", city, "--operator", "alice", "--json")
        assert code == 0, out
        # One requeue of the first report, whichever run published it (a repeat carries the same event id).
        published = await w.events_of(first, DeliveryRequeued.event_type)
        assert len({e.event_id for e in published}) == 1
        event_first = published[0]
        assert event_first.actor.id == "outbound-cli:alice" and event_first.source == "outbound-cli"
        assert (
            event_first.payload.reason is StuckReason.delivery_given_up and event_first.payload.attempts == 1
        )

        receiver.status = 200
        await w.configure(city, BodyResumed(body_id="works"))

        async def both_sent() -> bool:
            return sorted(receiver.requests_delivered()) == sorted([first, second])

        await eventually(both_sent, what="both requeued reports sent")
        assert receiver.requests_delivered() == [first, second]
        code, out = await w.cli("requeue", "--body", "works", "-j", city)
        assert code == 0 and "nothing given up to requeue" in out, out


async def test_an_admin_lists_a_bodys_given_up_reports_and_requeues_one_over_http(
    outbound_world: OutboundWorld,
) -> None:
    """The admin pages' button: the body's given-up reports listed; one requeued, as the admin, with the same event
    (id) the CLI would publish; auditors and agents refused; another body's or nothing given up refused."""
    w = outbound_world
    async with started(WebhookReceiver(status=422)) as receiver:
        city = await w.new_city("requeue-http", service("POTHOLE", "Pothole"), works(receiver))
        first, second = await w.submit(city, "POTHOLE"), await w.submit(city, "POTHOLE")

        async def both_given_up() -> bool:
            return [r["state"] for r in await w.queue_rows(city)] == ["failed", "failed"]

        await eventually(both_given_up, what="both reports given up")
        admin_id = uuid.uuid4()
        admin = staff_headers(admin_id, "admin", jurisdiction_id=city)
        url = "admin/outbound/bodies/works"
        listed = await w.client.get(f"{url}/given-up.json", headers=admin)
        assert listed.status_code == 200, listed.text
        assert [(g["request_id"], g["attempts"], g["requeues"]) for g in listed.json()] == [
            (first, 1, 0),
            (second, 1, 0),
        ]
        for refused, headers in (
            (403, staff_headers(None, "auditor", jurisdiction_id=city)),
            (403, staff_headers(None, "agent", jurisdiction_id=city)),
            (401, {}),
        ):
            answer = await w.client.post(f"{url}/requeue", json={"request_id": first}, headers=headers)
            assert answer.status_code == refused, answer.text
        elsewhere = staff_headers(None, "admin", jurisdiction_id=f"{city}-other")
        assert (
            await w.client.post(f"{url}/requeue", json={"request_id": first}, headers=elsewhere)
        ).status_code == 404
        nothing = await w.client.post(f"{url}/requeue", json={"request_id": "ZZZZ-ZZZZ"}, headers=admin)
        assert nothing.status_code == 409, nothing.text

        await w.configure(city, BodyPaused(body_id="works", reason="tests"))
        requeued_now = await w.client.post(f"{url}/requeue", json={"request_id": first}, headers=admin)
        assert requeued_now.status_code == 202, requeued_now.text
        assert requeued_now.json() == {"body_id": "works", "published": "request.delivery.requeued"}
        [event] = await w.events_of(first, DeliveryRequeued.event_type)
        assert (event.actor.kind, event.actor.id, event.source) == ("agent", str(admin_id), "admin")
        # The CLI's id for this row's first requeue: asked by both, the report is requeued once.
        seq = (await row_of(w, city, first))["seq"]
        assert event.event_id == derived_event_id(ID_NAMESPACE, seq, 0)

        async def queued_again() -> bool:
            return (await row_of(w, city, first)).get("state") == "queued"

        await eventually(queued_again, what="the report queued again")
        left = await w.client.get(f"{url}/given-up.json", headers=admin)
        assert [g["request_id"] for g in left.json()] == [second]
        receiver.status = 200
        await w.configure(city, BodyResumed(body_id="works"))

        async def sent() -> bool:
            return receiver.requests_delivered() == [first]

        await eventually(sent, what="the requeued report sent")


async def test_updates_held_back_by_a_given_up_report_follow_it_when_it_is_requeued(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    city = await w.new_city("requeue-updates", service("POTHOLE", "Pothole"), roads_by_email())
    await w.configure(city, BodyPaused(body_id="roads", reason="tests"))
    rid = await w.submit(city, "POTHOLE")
    await w.wait_queued(city, 1)
    async with w.pool.connection() as conn:  # the report given up (as after its last attempt)
        await conn.execute(
            "update outbound.outbound_queue set state = 'failed', attempts = 8, last_error = 'HTTP 550'"
            " where jurisdiction_id = %s",
            (city,),
        )
    await w.request_producer.publish(
        request_event(
            CommentAdded(text="Crew booked for Monday", visibility=CommentVisibility.public),
            request_id=rid,
            actor=Actor(kind=ActorKind.agent, id="agent-7"),
            source="agent",
            jurisdiction_id=city,
        )
    )
    await w.wait_queued(city, 2)
    await w.configure(city, BodyResumed(body_id="roads"))

    async def states() -> list[str]:
        return [r["state"] for r in await w.queue_rows(city)]

    async def held_back() -> bool:
        return await states() == ["failed", "undeliverable"]

    await eventually(held_back, what="the comment not sent: the report never reached the body")
    assert w.smtp.for_request(rid) == []

    await publish_applied(w, requeued(w, city, rid, attempts=8, body_id="roads"))

    async def both_sent() -> bool:
        return await states() == ["sent", "sent"]

    await eventually(both_sent, what="the report, then the comment")
    subjects = [m.message["Subject"] for m in w.smtp.for_request(rid)]
    assert subjects == [f"Request {rid}: Pothole", f"Request {rid} new comment: Pothole"]
