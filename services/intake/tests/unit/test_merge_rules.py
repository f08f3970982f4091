"""The merge rules, without IO: who may be merged into whom, and where a merge lands."""

import pytest
from civicloop_events import ActorKind, decode_event, derived_event_id, encode_event
from civicloop_events.payloads import MergedAsDuplicate
from civicloop_intake.domain.merging import (
    MAX_CHAIN,
    KnownRequest,
    MergeProblem,
    MergeRejected,
    merged_event,
    plan_merge,
    root_of,
)

A, B, C, D = "AAAA-0001", "BBBB-0002", "CCCC-0003", "DDDD-0004"


def known(**merged_into):
    base = {n: KnownRequest("demo") for n in (A, B, C, D)}
    for dup, original in merged_into.items():
        number = {"a": A, "b": B, "c": C, "d": D}[dup]
        base[number] = KnownRequest("demo", original)
    return base


def test_a_plain_merge_names_the_requested_original():
    plan = plan_merge(duplicate=A, requested_original=B, known=known())
    assert (plan.duplicate, plan.requested_original, plan.original, plan.jurisdiction_id) == (A, B, B, "demo")


def test_a_merge_into_a_merged_request_lands_on_the_root_of_its_chain():
    plan = plan_merge(duplicate=A, requested_original=B, known=known(b=C, c=D))
    assert (plan.requested_original, plan.original) == (B, D)


@pytest.mark.parametrize(
    ("duplicate", "original", "merged", "problem"),
    [
        (A, A, {}, MergeProblem.same_request),
        ("ZZZZ-9999", B, {}, MergeProblem.unknown_duplicate),
        (A, "ZZZZ-9999", {}, MergeProblem.unknown_original),
        (A, B, {"a": C}, MergeProblem.already_merged),
        (A, B, {"b": A}, MergeProblem.merge_cycle),  # B already follows A
        (A, B, {"b": C, "c": A}, MergeProblem.merge_cycle),  # B's chain comes back to A
    ],
)
def test_refused_merges_say_why(duplicate, original, merged, problem):
    with pytest.raises(MergeRejected) as caught:
        plan_merge(duplicate=duplicate, requested_original=original, known=known(**merged))
    assert caught.value.problem is problem


def test_requests_of_two_jurisdictions_are_never_merged():
    requests = {**known(), B: KnownRequest("elsewhere")}
    with pytest.raises(MergeRejected) as caught:
        plan_merge(duplicate=A, requested_original=B, known=requests)
    assert caught.value.problem is MergeProblem.other_jurisdiction


def test_root_of_stops_at_an_unknown_original_and_refuses_loops_and_endless_chains():
    assert root_of(A, {A: KnownRequest("demo", "ZZZZ-9999")}) == "ZZZZ-9999"
    assert root_of(A, {A: KnownRequest("demo", B), B: KnownRequest("demo", A)}) is None
    numbers = [f"AAAA-{i:04d}" for i in range(MAX_CHAIN + 2)]
    chain = {n: KnownRequest("demo", numbers[i + 1]) for i, n in enumerate(numbers[:-1])}
    assert root_of(numbers[0], chain) is None


def test_the_event_is_an_agents_merge_keyed_by_the_duplicate_with_a_derived_id():
    plan = plan_merge(duplicate=A, requested_original=B, known=known(b=C))
    event = merged_event(plan, agent_id="agent-7", note="same hole")
    assert (event.request_id, event.jurisdiction_id, event.source) == (A, "demo", "agent")
    assert (event.actor.kind, event.actor.id) == (ActorKind.agent, "agent-7")
    assert event.payload == MergedAsDuplicate(original_request_id=C, note="same hole")
    assert event.event_id == derived_event_id("merged_as_duplicate", A, C)
    assert decode_event(encode_event(event)) == event
