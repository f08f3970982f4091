"""The auditors' replay: a request's complete history from the log, in order, upcast, nobody else's events."""

import pytest
from civicloop_events import Actor, CommentAdded, Event, StatusChanged
from civicloop_events.cli import _replay
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
    assert history[0]["schema_version"] == 2 and history[0]["payload"]["location"]["lat"] == 34.0
    assert [h["offset"] for h in history] == sorted(h["offset"] for h in history)
    assert history[-1]["payload"]["public_note"] == "Filled"
