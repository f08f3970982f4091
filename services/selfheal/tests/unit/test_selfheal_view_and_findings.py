"""selfheal's view folded from a request's events, and what the sweep finds in it at an instant (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from civicloop_events.payloads import (
    CommentAdded,
    CommentVisibility,
    MergedAsDuplicate,
    RequestAssigned,
    RequestStatus,
    StatusChanged,
    StuckReason,
    VisitScheduled,
)
from civicloop_selfheal.domain.codec import view_from_json, view_to_json
from civicloop_selfheal.domain.findings import SweepPolicy, cluster_unattended, request_findings
from civicloop_selfheal.domain.view import BodyView, ClusterView, RequestView, request_after
from civicloop_sla.clock import SlaPolicy
from selfheal_events import DEFINITION, OUTBOUND, T0, H, at, given_up, routed, sent, submitted

POLICY = SlaPolicy.of(DEFINITION)
SWEEP = SweepPolicy()


def fold(*events) -> RequestView:
    view = None
    for event in events:
        view = request_after(view, event)
    assert view is not None
    return view


def reasons(view: RequestView, now, *, body: BodyView | None = None, policy=POLICY) -> list[StuckReason]:
    return [f.reason for f in request_findings(view, policy=policy, body=body, sweep=SWEEP, now=now)]


def test_a_fresh_request_is_not_stuck() -> None:
    assert reasons(fold(submitted()), T0 + timedelta(minutes=30)) == []


def test_unacknowledged_past_its_target_then_past_due_then_dormant() -> None:
    view = fold(submitted())
    assert reasons(view, T0 + 2 * H) == [StuckReason.unacknowledged]
    assert reasons(view, T0 + 9 * H) == [StuckReason.past_due, StuckReason.unacknowledged]
    assert StuckReason.dormant in reasons(view, T0 + timedelta(days=2, hours=1))


def test_acknowledging_stops_the_acknowledgement_finding_and_a_closed_request_has_none() -> None:
    acked = fold(submitted(), at(StatusChanged(status=RequestStatus.acknowledged), T0 + 0.5 * H))
    assert reasons(acked, T0 + 2 * H) == []
    closed = fold(submitted(), at(StatusChanged(status=RequestStatus.closed), T0 + 12 * H))
    assert closed.closed
    assert reasons(closed, T0 + timedelta(days=30)) == []
    merged = fold(submitted(), at(MergedAsDuplicate(original_request_id="1XYZ-0000"), T0 + H))
    assert reasons(merged, T0 + timedelta(days=30)) == []


def test_without_an_sla_definition_only_the_platform_s_failures_are_found() -> None:
    view = fold(submitted(), routed(T0))
    assert reasons(view, T0 + timedelta(days=5), policy=None) == [StuckReason.not_sent]


def test_not_sent_in_time_unless_its_body_is_paused() -> None:
    view = fold(submitted(), routed(T0))
    assert reasons(view, T0 + 0.5 * H, policy=None) == []
    assert reasons(view, T0 + H, policy=None) == [StuckReason.not_sent]
    paused = BodyView("demo", "roads", paused=True)
    assert reasons(view, T0 + 5 * H, body=paused, policy=None) == []
    delivered = fold(submitted(), routed(T0), sent(T0 + 0.1 * H))
    assert reasons(delivered, T0 + 5 * H, policy=None) == []


def test_a_delivery_given_up_is_found_and_a_later_send_clears_it() -> None:
    view = fold(submitted(), routed(T0), given_up(T0 + 0.5 * H))
    [finding] = request_findings(view, policy=None, body=None, sweep=SWEEP, now=T0 + H)
    assert (finding.reason, finding.since, view.send_attempts) == (
        StuckReason.delivery_given_up,
        T0 + 0.5 * H,
        5,
    )
    assert reasons(request_after(view, sent(T0 + 2 * H)), T0 + 3 * H, policy=None) == []


def test_a_visit_passed_with_nothing_said_after_it() -> None:
    visit = VisitScheduled(visit_id="v1", starts_at=T0 + 24 * H, duration_minutes=60, address="12 Main St")
    view = fold(
        submitted(),
        at(StatusChanged(status=RequestStatus.in_progress), T0 + 0.5 * H),
        at(visit, T0 + 0.6 * H),
    )
    after_grace = T0 + 25 * H + SWEEP.visit_grace
    assert StuckReason.visit_passed not in reasons(view, after_grace - timedelta(minutes=1), policy=None)
    assert reasons(view, after_grace, policy=None) == [StuckReason.visit_passed]
    internal = at(CommentAdded(text="crew went", visibility=CommentVisibility.internal), T0 + 26 * H)
    assert reasons(request_after(view, internal), after_grace, policy=None) == [StuckReason.visit_passed]
    public = at(CommentAdded(text="filled", visibility=CommentVisibility.public), T0 + 26 * H)
    assert reasons(request_after(view, public), T0 + 30 * H, policy=None) == []


def test_staff_work_and_the_assignee_are_kept_outbound_s_events_are_not_staff_work() -> None:
    view = fold(
        submitted(),
        routed(T0),
        at(RequestAssigned(team_id="roads-crew", staff_id="0193a1b2-0000-7000-8000-00000000a002"), T0 + H),
    )
    assert (view.team_id, view.assignee, view.last_staff_action_at) == (
        "roads-crew",
        "0193a1b2-0000-7000-8000-00000000a002",
        T0 + H,
    )
    by_system = at(StatusChanged(status=RequestStatus.in_progress), T0 + 2 * H, actor=OUTBOUND)
    assert request_after(view, by_system).last_staff_action_at == T0 + H


def test_events_before_the_submission_make_no_view() -> None:
    assert request_after(None, routed(T0)) is None


def test_the_view_reads_back_as_it_was_written() -> None:
    view = fold(
        submitted(), routed(T0), at(StatusChanged(status=RequestStatus.on_hold), T0 + H), given_up(T0 + H)
    )
    assert view_from_json(view_to_json(view)) == view


@pytest.mark.parametrize(
    ("acted_at", "now", "unattended"),
    [
        (None, T0 + 23 * H, False),  # not old enough yet
        (None, T0 + 24 * H, True),
        (T0 - H, T0 + 25 * H, True),  # acted on before it was detected: not on the hot spot
        (T0 + 2 * H, T0 + 25 * H, False),
    ],
)
def test_a_hot_spot_is_unattended_when_no_member_was_acted_on_since_detected(
    acted_at, now, unattended
) -> None:
    cluster = ClusterView("c1", "demo", "pothole", ("1ABC-DEFG", "1ABC-DEFH"), detected_at=T0)
    member = fold(submitted(T0 - 2 * H))
    if acted_at is not None:
        member = request_after(
            member, at(CommentAdded(text="seen", visibility=CommentVisibility.internal), acted_at)
        )
    assert cluster_unattended(cluster, {member.number: member}, sweep=SWEEP, now=now) is unattended
