"""The location command over in-memory ports: checks, the Idempotency-Key, publishing once, answering again."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from civicloop_events.payloads import LocationCorrected, RequestStatus
from civicloop_intake.domain.corrections import CorrectionProblem, CorrectionRejected, CorrectLocation
from civicloop_intake.domain.submissions import IdempotencyKeyReused
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.correct import correct_location
from civicloop_intake.service_layer.merge import InvalidRequestNumbers
from civicloop_intake.service_layer.ports import EventLogUnavailable
from intake_fakes import FakeCorrections, FakeEventLog, FakeMerges, FakeTrackingView, merge_as_agent

A, B = "AAAA-0001", "BBBB-0002"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
POINT = CorrectLocation(lat=38.8977, long=-77.0365, address="1600 Pennsylvania Ave NW", note="pin was off")


@pytest.fixture
def world():
    tracking = FakeTrackingView()
    for number in (A, B):
        tracking.rows[number] = TrackedRequest(number, "dc", "pothole", "hole", RequestStatus.open, T0, T0)
    return tracking, FakeMerges(), FakeCorrections(), FakeEventLog()


async def correct(world, number=A, cmd=POINT, key="k1", agent="agent-7"):
    tracking, merges, corrections, log = world
    return await correct_location(
        cmd,
        number=number,
        agent_id=agent,
        idempotency_key=key,
        tracking=tracking,
        merges=merges,
        corrections=corrections,
        event_log=log,
        wait_s=0.05,
    )


async def test_a_correction_is_published_by_the_agent_and_answered_with_its_position(world):
    _, _, corrections, log = world
    receipt = await correct(world, number="aaaa-OOO1")  # typed loosely
    assert (receipt.request_number, receipt.created) == (A, True)
    [event] = log.events
    assert (event.request_id, event.jurisdiction_id, event.actor.id, event.source) == (
        A,
        "dc",
        "agent-7",
        "agent",
    )
    assert event.payload == LocationCorrected(
        lat=38.8977, long=-77.0365, address="1600 Pennsylvania Ave NW", note="pin was off"
    )
    assert receipt.position == corrections.rows["k1"].position and corrections.rows["k1"].published


async def test_a_retry_with_the_same_key_and_body_answers_again_without_a_second_event(world):
    first = await correct(world)
    again = await correct(world)
    assert (again.created, again.position) == (False, first.position)
    assert len(world[3].events) == 1


async def test_the_same_key_with_another_correction_is_refused(world):
    await correct(world)
    with pytest.raises(IdempotencyKeyReused):
        await correct(world, cmd=CorrectLocation(lat=38.9, long=-77.0365))
    with pytest.raises(IdempotencyKeyReused):
        await correct(world, agent="agent-8")
    assert len(world[3].events) == 1


async def test_each_correction_under_its_own_key_is_a_new_event_even_back_to_an_earlier_point(world):
    other = CorrectLocation(lat=38.9, long=-77.0)
    for key, cmd in (("k1", POINT), ("k2", other), ("k3", POINT)):
        assert (await correct(world, cmd=cmd, key=key)).created
    events = world[3].events
    assert [e.payload.lat for e in events] == [38.8977, 38.9, 38.8977]
    assert len({e.event_id for e in events}) == 3


async def test_a_correction_the_broker_did_not_acknowledge_is_published_by_its_retry_with_the_same_event(
    world,
):
    _, _, corrections, log = world
    log.down = True
    with pytest.raises(EventLogUnavailable):
        await correct(world)
    assert not corrections.rows["k1"].published
    log.down = False
    receipt = await correct(world)
    assert receipt.created and [e.event_id for e in log.events] == [corrections.rows["k1"].event_id]


async def test_a_merged_duplicate_cannot_be_placed_even_before_the_view_folded_the_merge(world):
    tracking, merges, _, log = world
    await merge_as_agent(A, B, tracking, merges, log)  # the fake view never folds it
    with pytest.raises(CorrectionRejected) as caught:
        await correct(world)
    assert caught.value.problem is CorrectionProblem.merged
    assert (await correct(world, number=B)).created  # its original can be placed


async def test_a_duplicate_the_view_shows_merged_cannot_be_placed(world):
    tracking = world[0]
    tracking.rows[A] = replace(tracking.rows[A], merged_into=B)
    with pytest.raises(CorrectionRejected) as caught:
        await correct(world)
    assert caught.value.problem is CorrectionProblem.merged
    assert world[2].rows == {} and world[3].events == []


async def test_an_unknown_request_is_refused_after_the_wait_and_stores_nothing(world):
    with pytest.raises(CorrectionRejected) as caught:
        await correct(world, number="ZZZZ-9999")
    assert caught.value.problem is CorrectionProblem.unknown_request
    assert world[2].rows == {} and world[3].events == []


async def test_a_malformed_number_is_named(world):
    with pytest.raises(InvalidRequestNumbers) as caught:
        await correct(world, number="nope")
    assert caught.value.fields == ["number"]
