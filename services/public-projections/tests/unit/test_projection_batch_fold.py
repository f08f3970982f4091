"""Folding a batch of events at once gives what folding them one at a time gives: rows and history alike."""

from __future__ import annotations

import pytest
from agent_fold_kit import at
from civicloop_events import (
    Actor,
    CommentAdded,
    Event,
    Location,
    ServiceDefined,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_events.payloads import (
    ExternalReferenceAssigned,
    MergedAsDuplicate,
    RequestImported,
    Routed,
    SentToBackend,
)
from civicloop_projections.domain.agent_request import AgentRequest, fold, fold_many, opened_by
from civicloop_projections.domain.agent_request import imported as apply_import
from civicloop_projections.service_layer.fakes import InMemoryAgentViewStore
from civicloop_projections.service_layer.handlers import (
    when_request_event_update_agent_view,
    when_request_events_update_agent_view,
)
from civicloop_testing.events import config_event, request_event

SYSTEM = Actor(kind="system", id="outbound")


def on(number: str, payload, minutes: float) -> Event:
    return request_event(payload, request_id=number, actor=SYSTEM, source="outbound", occurred_at=at(minutes))


def submission(number: str, minutes: float = 0) -> Event:
    return on(
        number,
        ServiceRequestSubmitted(service_code="pothole", location=Location(lat=34.05, long=-118.25)),
        minutes,
    )


def imported(number: str, external_id: str, minutes: float) -> Event:
    return on(
        number, RequestImported(body_id="parks", external_id=external_id, backend_service_code="T"), minutes
    )


def interleaved_log() -> list[Event]:
    """Several requests' events interleaved as a partition holds them, with every case the fold tells apart:
    imports before and after a submission, an event of a request never submitted, a repeated submission, a
    configuration event, and a time going backwards."""
    a, b, c, orphan = "AAAA-0001", "BBBB-0002", "CCCC-0003", "ZZZZ-0009"
    return [
        imported(b, "WO-1", -2),
        submission(a),
        on(orphan, StatusChanged(status="closed"), 1),
        imported(b, "WO-2", -1),
        on(a, Routed(body_id="streets", team="crew", priority="high", analysis_codes=["A"]), 1),
        submission(b),
        config_event(ServiceDefined(service_code="pothole", service_name="Pothole")),
        on(a, SentToBackend(body_id="streets", method="open311", attempt=1), 2),
        imported(b, "WO-3", 3),
        on(a, StatusChanged(status="closed"), 5),
        submission(c, 1),
        on(c, CommentAdded(text="still there"), 0),  # backdated: updated_at must not go back
        on(a, ExternalReferenceAssigned(body_id="streets", external_id="SR-1"), 6),
        submission(c, 9),  # a second submission of the same number only counts
        on(c, MergedAsDuplicate(original_request_id=a, note="same hole"), 10),
        on(a, StatusChanged(status="in_progress"), 11),
        imported(orphan, "WO-9", 12),
    ]


def one_at_a_time(events: list[Event]) -> dict[str, AgentRequest]:
    """The reference: `fold` per event, a new row taking the imports its history holds before it."""
    states: dict[str, AgentRequest] = {}
    seen: list[Event] = []
    for event in events:
        number = event.request_id
        if number is not None:
            state = states.get(number)
            new_state = fold(state, event)
            if state is None and new_state is not None:
                for e in seen:
                    if e.request_id == number and isinstance(e.payload, RequestImported):
                        new_state = apply_import(new_state, e.payload)
            if new_state is not None:
                states[number] = new_state
            seen.append(event)
    return states


def test_a_whole_log_folded_at_once_equals_folding_it_event_by_event():
    events = interleaved_log()
    folded = fold_many({}, events, {})
    assert folded.changed == one_at_a_time(events)
    assert folded.changed["BBBB-0002"].imported_from.external_id == "WO-1"  # the first import stands
    # Events before their request's submission (imports included) are kept in the history only.
    assert [e.request_id for e in folded.unknown] == ["BBBB-0002", "ZZZZ-0009", "BBBB-0002", "ZZZZ-0009"]


def test_a_fold_continues_from_the_states_and_imports_before_its_batch():
    events = interleaved_log()
    before, batch = events[:4], events[4:]
    first = fold_many({}, before, {})
    history_imports = {
        n: [e.payload for e in before if e.request_id == n and isinstance(e.payload, RequestImported)]
        for n in opened_by(first.changed, batch)
    }
    second = fold_many(first.changed, batch, history_imports)
    assert {**first.changed, **second.changed} == one_at_a_time(events)
    assert set(second.changed) == {"AAAA-0001", "BBBB-0002", "CCCC-0003"}


def test_only_requests_without_a_state_that_a_batch_submits_are_opened_by_it():
    events = interleaved_log()
    known = fold_many({}, events[:2], {}).changed
    assert opened_by(known, events) == {"BBBB-0002", "CCCC-0003"}


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 100])
async def test_the_handler_in_batches_of_any_size_writes_what_it_writes_event_by_event(size):
    events = interleaved_log()
    one_by_one, batched = InMemoryAgentViewStore(), InMemoryAgentViewStore()
    for event in events:
        await when_request_event_update_agent_view(one_by_one, event)
    for start in range(0, len(events), size):
        await when_request_events_update_agent_view(batched, events[start : start + size])
    assert batched.rows == one_by_one.rows
    assert batched.history == one_by_one.history
    assert len(batched.history) == len(events) - 1  # every event of a request, the configuration event aside
