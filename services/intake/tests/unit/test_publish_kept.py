"""The last step of every intake command: publish what it kept once, answer where it stands every time."""

import logging

import pytest
from civicloop_events import Actor, ActorKind, Event, encode_event
from civicloop_events.outbox_memory import InMemoryOutbox
from civicloop_events.payloads import MergedAsDuplicate
from civicloop_intake.domain.corrections import Correction
from civicloop_intake.domain.submissions import IdempotencyKeyReused, LogPosition
from civicloop_intake.service_layer.publishing import answer_kept, publish_kept
from intake_fakes import FakeEventLog

LOG = logging.getLogger("civicloop.intake.test_publish_kept")


def _merge_event() -> Event:
    """What an agent's merge keeps to publish."""
    return Event.create(
        MergedAsDuplicate(original_request_id="0000-0001", note="same pothole"),
        request_id="0000-0002",
        jurisdiction_id="demo",
        actor=Actor(kind=ActorKind.agent),
        source="agent",
    )


def _kept_outbox() -> InMemoryOutbox:
    outbox = InMemoryOutbox("intake.test")
    event = _merge_event()
    outbox.put("key-1", [encode_event(event).decode()])
    return outbox


async def test_the_first_call_publishes_logs_once_and_answers_created(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, event_log = _kept_outbox(), FakeEventLog()
    with caplog.at_level(logging.INFO, logger=LOG.name):
        published = await publish_kept(
            outbox,
            event_log,
            "key-1",
            log=LOG,
            message="kept thing published",
            context={"request_number": "n"},
        )
    assert published.created
    assert published.position == LogPosition(0, 0)
    assert len(event_log.events) == 1
    [record] = [r for r in caplog.records if r.name == LOG.name]
    assert record.getMessage() == "kept thing published"
    assert (record.request_number, record.partition, record.offset) == ("n", 0, 0)


async def test_a_retry_answers_the_same_position_without_publishing_or_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, event_log = _kept_outbox(), FakeEventLog()
    first = await publish_kept(outbox, event_log, "key-1", log=LOG, message="published", context={})
    with caplog.at_level(logging.INFO, logger=LOG.name):
        again = await publish_kept(outbox, event_log, "key-1", log=LOG, message="published", context={})
    assert not again.created
    assert again.position == first.position
    assert len(event_log.events) == 1
    assert [r for r in caplog.records if r.name == LOG.name] == []


def _correction(body_hash: str) -> Correction:
    outbox_event = _merge_event()
    return Correction(
        "key-1", "0000-0002", outbox_event.event_id, body_hash, encode_event(outbox_event).decode()
    )


async def test_answer_kept_publishes_and_answers_with_the_kept_request() -> None:
    kept, outbox, event_log = _correction("h"), InMemoryOutbox("intake.test"), FakeEventLog()
    outbox.put(kept.idempotency_key, [kept.event_json])
    receipt = await answer_kept(
        kept, fingerprint="h", outbox=outbox, event_log=event_log, log=LOG, message="m"
    )
    assert (receipt.request_number, receipt.position, receipt.created) == (
        "0000-0002",
        LogPosition(0, 0),
        True,
    )
    assert [e.event_id for e in event_log.events] == [kept.event_id]


async def test_answer_kept_refuses_the_same_key_with_another_body_and_publishes_nothing() -> None:
    kept, outbox, event_log = _correction("h"), InMemoryOutbox("intake.test"), FakeEventLog()
    outbox.put(kept.idempotency_key, [kept.event_json])
    with pytest.raises(IdempotencyKeyReused):
        await answer_kept(kept, fingerprint="other", outbox=outbox, event_log=event_log, log=LOG, message="m")
    assert event_log.events == []
