"""Routing, sending to the body, external references and imports, folded into the agent view without IO."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from agent_fold_kit import NUMBER, at, on_request
from civicloop_events import REGISTRY, Actor, Event, Location, ServiceRequestSubmitted
from civicloop_events.payloads import (
    ExternalReferenceAssigned,
    RequestImported,
    Routed,
    SendFailed,
    SentToBackend,
)
from civicloop_events.registry import decode_event, encode_event
from civicloop_projections.domain.agent_request import Delivery, DeliveryState, ExternalReference, fold
from civicloop_projections.service_layer.fakes import InMemoryAgentViewStore
from civicloop_projections.service_layer.handlers import when_request_event_update_agent_view

ROUTER = Actor(kind="system", id="router")


def event(payload, minutes: float = 1) -> Event:
    return on_request(payload, minutes, ROUTER, "outbound")


def submission() -> Event:
    return event(
        ServiceRequestSubmitted(service_code="pothole", location=Location(address_string="City Hall")), 0
    )


def replay(*payloads) -> object:
    state = fold(None, submission())
    for i, payload in enumerate(payloads, start=1):
        state = fold(state, event(payload, i))
    return state


ROUTED = Routed(
    body_id="streets",
    team="north crew",
    priority="high",
    analysis_codes=["a1", "b2"],
    rules=["potholes-north"],
)


def sent(attempt: int = 1, body_id: str = "streets") -> SentToBackend:
    return SentToBackend(
        body_id=body_id, method="open311", attempt=attempt, destination="https://streets/open311"
    )


def failed(attempt: int, retry_at: datetime | None, error: str = "503 from back-end") -> SendFailed:
    return SendFailed(body_id="streets", method="open311", attempt=attempt, error=error, retry_at=retry_at)


def test_a_submitted_request_is_neither_routed_nor_delivered():
    state = fold(None, submission())
    assert (state.body_id, state.team, state.priority, state.analysis_codes) == (None, None, None, ())
    assert (state.delivery, state.external_references, state.imported_from) == (None, (), None)


def test_routing_sets_body_team_priority_and_codes_and_queues_the_delivery():
    state = replay(ROUTED)
    assert (state.body_id, state.team, state.priority, state.analysis_codes) == (
        "streets",
        "north crew",
        "high",
        ("a1", "b2"),
    )
    assert state.delivery == Delivery(DeliveryState.queued)
    assert (state.event_count, state.updated_at) == (2, at(1))


def test_routing_to_no_body_leaves_no_delivery():
    state = replay(Routed(team="triage"))
    assert (state.body_id, state.team, state.priority, state.delivery) == (None, "triage", "normal", None)


def test_a_later_routing_replaces_the_earlier_and_another_body_starts_delivery_afresh():
    same_body = replay(ROUTED, sent(), Routed(body_id="streets", priority="low"))
    assert (same_body.team, same_body.priority, same_body.analysis_codes) == (None, "low", ())
    assert same_body.delivery == Delivery(DeliveryState.sent, attempts=1)
    other_body = replay(ROUTED, failed(1, at(30)), Routed(body_id="parks"))
    assert (other_body.body_id, other_body.delivery) == ("parks", Delivery(DeliveryState.queued))


def test_a_failure_with_a_retry_time_is_failed_and_one_without_is_given_up():
    retrying = replay(ROUTED, failed(1, at(15)))
    assert retrying.delivery == Delivery(
        DeliveryState.failed, attempts=1, last_error="503 from back-end", retry_at=at(15)
    )
    given_up = replay(ROUTED, failed(1, at(15)), failed(2, None, error="timeout"))
    assert given_up.delivery == Delivery(
        DeliveryState.given_up, attempts=2, last_error="timeout", retry_at=None
    )


def test_a_send_after_failures_is_sent_with_every_attempt_counted_and_no_error():
    state = replay(ROUTED, failed(1, at(5)), failed(2, at(10)), sent(3))
    assert state.delivery == Delivery(DeliveryState.sent, attempts=3)


def test_a_send_without_a_routing_seen_is_still_recorded():
    assert replay(sent(2)).delivery == Delivery(DeliveryState.sent, attempts=2)


def test_attempts_never_go_down():
    state = replay(ROUTED, failed(3, at(5)), sent(1))
    assert state.delivery.attempts == 3


def test_external_references_keep_their_first_order_and_ignore_repeats():
    state = replay(
        ExternalReferenceAssigned(body_id="streets", external_id="SR-1"),
        ExternalReferenceAssigned(body_id="parks", external_id="WO-9"),
        ExternalReferenceAssigned(body_id="streets", external_id="SR-1"),
    )
    assert state.external_references == (
        ExternalReference("streets", "SR-1"),
        ExternalReference("parks", "WO-9"),
    )
    assert state.event_count == 4


def test_an_import_after_the_submission_records_the_first_origin():
    state = replay(
        RequestImported(body_id="streets", external_id="SR-7", backend_service_code="PH"),
        RequestImported(body_id="parks", external_id="X-1", backend_service_code="PK"),
    )
    assert state.imported_from == ExternalReference("streets", "SR-7")


def test_an_import_before_the_submission_creates_nothing_by_itself():
    assert (
        fold(None, event(RequestImported(body_id="streets", external_id="SR-7", backend_service_code="PH")))
        is None
    )


def test_the_same_events_fold_to_the_same_state_after_a_round_trip_through_the_log():
    payloads = [
        ROUTED,
        failed(1, at(5)),
        sent(2),
        ExternalReferenceAssigned(body_id="streets", external_id="SR-1"),
    ]
    events = [submission(), *(event(p, i) for i, p in enumerate(payloads, start=1))]
    direct, read_back = None, None
    for e in events:
        direct = fold(direct, e)
        read_back = fold(read_back, decode_event(encode_event(e)))
    assert direct == read_back


async def test_an_import_that_precedes_its_submission_is_applied_when_the_row_is_created():
    store = InMemoryAgentViewStore()
    await when_request_event_update_agent_view(
        store, event(RequestImported(body_id="streets", external_id="SR-7", backend_service_code="PH"), -1)
    )
    assert store.rows == {}
    await when_request_event_update_agent_view(store, submission())
    row = store.rows[NUMBER]
    assert (row.imported_from, row.event_count) == (ExternalReference("streets", "SR-7"), 1)
    assert [h.type for h in store.history] == [
        RequestImported.event_type,
        ServiceRequestSubmitted.event_type,
    ]


async def test_an_import_kept_in_history_under_its_earlier_name_is_still_applied():
    """History rows written before `outbound.request_imported` became `request.imported` keep the old name."""
    store = InMemoryAgentViewStore()
    imported = event(RequestImported(body_id="streets", external_id="SR-7", backend_service_code="PH"), -1)
    await when_request_event_update_agent_view(store, imported)
    store.history[0] = replace(store.history[0], type="outbound.request_imported")
    assert REGISTRY.canonical("outbound.request_imported") == RequestImported.event_type
    await when_request_event_update_agent_view(store, submission())
    assert store.rows[NUMBER].imported_from == ExternalReference("streets", "SR-7")


def test_events_under_earlier_names_fold_like_the_same_events_under_current_names():
    """The log holds both; the agent view cannot tell them apart (decode reads every name as the current one)."""
    earlier = {
        ServiceRequestSubmitted.event_type: "intake.service_request.submitted",
        RequestImported.event_type: "outbound.request_imported",
        SentToBackend.event_type: "outbound.sent_to_backend",
        ExternalReferenceAssigned.event_type: "outbound.external_reference_assigned",
    }
    events = [
        event(RequestImported(body_id="streets", external_id="SR-7", backend_service_code="PH"), -1),
        submission(),
        event(ROUTED, 1),
        event(sent(2), 2),
        event(ExternalReferenceAssigned(body_id="streets", external_id="SR-1"), 3),
    ]
    as_written_before = [
        decode_event({**json.loads(encode_event(e)), "type": earlier.get(e.type, e.type)}) for e in events
    ]
    current, before = None, None
    for now, then in zip(events, as_written_before, strict=True):
        current, before = fold(current, decode_event(encode_event(now))), fold(before, then)
    assert current == before and current is not None
