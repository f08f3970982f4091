"""The track view folded a batch at a time equals the view folded one event at a time."""

from __future__ import annotations

import pytest
from civicloop_events import CommentAdded, ServiceDefined, StatusChanged
from civicloop_events.payloads import CommentVisibility, ExternalReferenceAssigned, MergedAsDuplicate
from civicloop_intake.domain.tracking import TrackedRequest, fold, fold_many
from civicloop_intake.service_layer.folds import (
    TrackingRows,
    when_request_event_update_tracking,
    when_request_events_update_tracking,
)
from civicloop_testing.events import config_event
from test_tracking_fold import SUBMITTED, event, resolved

A, B = SUBMITTED.request_id, "B2B2-B2B2"


def interleaved_log():
    submitted_b = event(SUBMITTED.payload, 1, number=B)
    return [
        event(StatusChanged(status="closed"), 0, number=B),  # before its submission: tracks nothing
        SUBMITTED,
        event(StatusChanged(status="acknowledged", public_note="seen"), 1),
        submitted_b,
        event(CommentAdded(text="internal", visibility=CommentVisibility.internal), 2),  # no trace
        config_event(ServiceDefined(service_code="x", service_name="X")),
        event(ExternalReferenceAssigned(body_id="streets", external_id="SR-1"), 3),
        event(ExternalReferenceAssigned(body_id="streets", external_id="SR-1"), 4),  # no news
        resolved("1200 block of Main St", "Ward 2"),
        event(MergedAsDuplicate(original_request_id=A), 5, number=B),
        SUBMITTED,  # a second claim on the number changes nothing
        event(StatusChanged(status="closed", public_note="fixed"), 6),
    ]


def one_at_a_time(events) -> dict[str, TrackedRequest]:
    views: dict[str, TrackedRequest] = {}
    for e in events:
        if e.request_id is not None and (after := fold(views.get(e.request_id), e)) is not None:
            views[e.request_id] = after
    return views


def test_a_whole_log_folded_at_once_equals_folding_it_event_by_event():
    events = interleaved_log()
    assert fold_many({}, events) == one_at_a_time(events)


def test_a_batch_reports_only_the_views_it_changed():
    events = interleaved_log()
    before = fold_many({}, events[:4])
    internal_only = [
        events[4],
        events[5],
        events[7],
    ]  # an internal comment, a config event, a repeated reference
    assert fold_many({**before, **fold_many(before, events[6:7])}, internal_only) == {}


class InMemoryTrackingRows(TrackingRows):
    def __init__(self) -> None:
        self.rows: dict[str, TrackedRequest] = {}
        self.saves = 0

    async def load_for_update(self, request_numbers):
        return {n: self.rows[n] for n in request_numbers if n in self.rows}

    async def save(self, states):
        self.saves += 1
        self.rows.update({s.request_number: s for s in states})


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
async def test_the_handler_in_batches_of_any_size_writes_what_it_writes_event_by_event(size):
    events = interleaved_log()
    one_by_one, batched = InMemoryTrackingRows(), InMemoryTrackingRows()
    for e in events:
        await when_request_event_update_tracking(one_by_one, e)
    for start in range(0, len(events), size):
        await when_request_events_update_tracking(batched, events[start : start + size])
    assert batched.rows == one_by_one.rows
    assert batched.saves <= -(-len(events) // size)  # at most one write per batch
