"""The auditors' replay: a request's complete history from the log, in order, upcast, nobody else's events."""

import pytest
from civicloop_events import Actor, CommentAdded, Event, StatusChanged, encode_event
from civicloop_events.history import scanned_history as _replay
from civicloop_events.payloads import ServiceRequestSubmittedV1
from civicloop_events.producer import EventProducer

pytestmark = pytest.mark.integration


async def test_replay_returns_one_requests_history_in_log_order(kafka_bootstrap, fresh_topics):
    producer = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await producer.start()
    mine, other = "REPL-0001", "REPL-0002"
    actor = Actor(kind="agent", id="a1")
    written = [
        Event.create(
            ServiceRequestSubmittedV1(service_code="pothole", lat=34.0, long=-118.2),
            request_id=mine,
            jurisdiction_id="demo",
            actor=Actor(kind="resident"),
            source="web",
        ),
        Event.create(
            CommentAdded(text="for someone else"),
            request_id=other,
            jurisdiction_id="demo",
            actor=actor,
            source="agent",
        ),
        Event.create(
            StatusChanged(status="in_progress", previous_status="open"),
            request_id=mine,
            jurisdiction_id="demo",
            actor=actor,
            source="agent",
        ),
        Event.create(
            StatusChanged(status="closed", previous_status="in_progress", public_note="Filled"),
            request_id=mine,
            jurisdiction_id="demo",
            actor=actor,
            source="agent",
        ),
    ]
    try:
        for event in written:
            await producer.publish(event)
    finally:
        await producer.stop()

    history = await _replay(kafka_bootstrap, fresh_topics.request_events, mine)

    assert [h["event_id"] for h in history] == [str(e.event_id) for e in written if e.request_id == mine]
    assert history[0]["schema_version"] == 3 and history[0]["payload"]["location"]["lat"] == 34.0
    assert [h["offset"] for h in history] == sorted(h["offset"] for h in history)
    assert history[-1]["payload"]["public_note"] == "Filled"


async def test_replay_reports_an_event_that_stands_twice_on_the_log_once(kafka_bootstrap, fresh_topics):
    producer = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await producer.start()
    number = "REPL-0003"
    event = Event.create(
        CommentAdded(text="published twice before the publisher looked on the log"),
        request_id=number,
        jurisdiction_id="demo",
        actor=Actor(kind="agent", id="a1"),
        source="agent",
    )
    try:
        first = await producer.publish(event)
        await producer.publish_raw(  # a second record of the same event, as an older publisher could leave
            fresh_topics.request_events, encode_event(event), key=event.key, headers=[]
        )
    finally:
        await producer.stop()

    history = await _replay(kafka_bootstrap, fresh_topics.request_events, number)

    assert [(h["event_id"], h["offset"]) for h in history] == [(str(event.event_id), first.offset)]
