"""The merge command over in-memory ports: checks, the ledger, publishing once, answering again."""

import asyncio
from datetime import UTC, datetime

import pytest
from civicloop_events.payloads import MergedAsDuplicate, RequestStatus
from civicloop_intake.domain.merging import MergeProblem, MergeRejected
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.merge import InvalidRequestNumbers
from civicloop_intake.service_layer.ports import EventLogUnavailable
from intake_fakes import FakeEventLog, FakeMerges, FakeTrackingView, merge_as_agent

A, B, C = "AAAA-0001", "BBBB-0002", "CCCC-0003"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def world():
    tracking = FakeTrackingView()
    for number in (A, B, C):
        tracking.rows[number] = TrackedRequest(number, "demo", "pothole", "hole", RequestStatus.open, T0, T0)
    return tracking, FakeMerges(), FakeEventLog()


async def merge(world, number, original, note=""):
    return await merge_as_agent(number, original, *world, note=note)


async def test_a_merge_is_published_by_the_agent_and_answered_with_its_position(world):
    _, merges, log = world
    receipt = await merge(world, "aaaa-OOO1", B, note="same hole")  # typed loosely
    assert (receipt.duplicate, receipt.original, receipt.requested_original, receipt.created) == (
        A,
        B,
        B,
        True,
    )
    [event] = log.events
    assert (event.request_id, event.actor.id, event.source) == (A, "agent-7", "agent")
    assert event.payload == MergedAsDuplicate(original_request_id=B, note="same hole")
    assert receipt.position == merges.rows[A].position and merges.rows[A].published


async def test_repeating_a_merge_answers_it_again_without_a_second_event(world):
    first = await merge(world, A, B)
    again = await merge(world, A, B, note="other words")
    assert (again.created, again.position) == (False, first.position)
    assert len(world[2].events) == 1


async def test_a_duplicate_merged_into_one_original_cannot_be_merged_into_another(world):
    await merge(world, A, B)
    with pytest.raises(MergeRejected) as caught:
        await merge(world, A, C)
    assert caught.value.problem is MergeProblem.already_merged


async def test_merges_count_before_the_track_view_folded_them(world):
    await merge(world, A, B)  # the fake view never folds it: only the ledger knows
    with pytest.raises(MergeRejected) as caught:
        await merge(world, B, A)
    assert caught.value.problem is MergeProblem.merge_cycle
    receipt = await merge(world, C, A)  # into A, which follows B: lands on B
    assert (receipt.requested_original, receipt.original) == (A, B)


async def test_two_agents_merging_a_pair_both_ways_at_once_make_no_cycle(world):
    results = await asyncio.gather(merge(world, A, B), merge(world, B, A), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["MergeReceipt", "MergeRejected"]
    assert len(world[2].events) == 1


async def test_a_merge_the_broker_did_not_acknowledge_is_published_by_its_repeat_with_the_same_event(world):
    _, merges, log = world
    log.down = True
    with pytest.raises(EventLogUnavailable):
        await merge(world, A, B)
    assert not merges.rows[A].published
    log.down = False
    receipt = await merge(world, A, B)
    assert receipt.created and [e.event_id for e in log.events] == [merges.rows[A].event_id]


async def test_malformed_numbers_are_named(world):
    with pytest.raises(InvalidRequestNumbers) as caught:
        await merge(world, "nope", "also not")
    assert caught.value.fields == ["number", "original"]


async def test_an_unknown_duplicate_is_refused_after_the_wait(world):
    with pytest.raises(MergeRejected) as caught:
        await merge(world, "ZZZZ-9999", B)
    assert caught.value.problem is MergeProblem.unknown_duplicate
    assert world[2].events == []
