"""Staff's work folded into the agent view: assignment, status reasons and notes, comments, visits, priority,
category, reopen, and the activity that "dormant" reads. No IO."""

from __future__ import annotations

from agent_fold_kit import at, on_request, replay
from civicloop_events import Actor, CommentAdded, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CategoryChanged,
    CommentVisibility,
    Priority,
    PriorityChanged,
    RequestAssigned,
    Routed,
    SendFailed,
    SentToBackend,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_projections.domain.agent_request import VisitState, fold_many

AGENT = Actor(kind="agent", id="staff-a")
OTHER_AGENT = Actor(kind="agent", id="staff-b")
ROUTER = Actor(kind="system", id="routing")


def by(actor: Actor, payload, minutes: float):
    return on_request(payload, minutes, actor, "agent" if actor.kind == "agent" else "routing")


def submission():
    payload = ServiceRequestSubmitted(
        service_code="pothole", description="deep", location=Location(address_string="1 Main St")
    )
    return on_request(payload, 0, Actor(kind="resident"), "web")


def routed(team: str, minutes: float, priority: str = "normal"):
    return by(ROUTER, Routed(body_id="streets", team=team, priority=priority), minutes)


def test_an_assignment_names_team_and_staff_member_with_who_and_when():
    state = replay(
        submission(),
        routed("potholes", 1),
        by(AGENT, RequestAssigned(team_id="crews-north", staff_id="staff-c", previous_team_id="potholes"), 5),
    )
    assert (state.team, state.assignee, state.assigned_at, state.assigned_by) == (
        "crews-north",
        "staff-c",
        at(5),
        "staff-a",
    )


def test_routing_after_an_assignment_keeps_staff_s_team_but_sets_its_priority():
    state = replay(
        submission(),
        routed("potholes", 1),
        by(AGENT, RequestAssigned(team_id="crews-north"), 5),
        routed("graffiti-team", 9, priority="high"),
    )
    assert (state.team, state.assignee, state.priority) == ("crews-north", None, "high")
    unassigned = replay(submission(), routed("potholes", 1), routed("graffiti-team", 9))
    assert unassigned.team == "graffiti-team"


def test_an_assignment_to_a_staff_member_alone_leaves_no_team():
    state = replay(submission(), routed("potholes", 1), by(AGENT, RequestAssigned(staff_id="staff-c"), 2))
    assert (state.team, state.assignee) == (None, "staff-c")


def test_a_close_keeps_reason_referral_and_note_and_a_reopen_replaces_them():
    closed = replay(
        submission(),
        by(
            AGENT,
            StatusChanged(
                status="closed",
                previous_status="open",
                reason="not_ours",
                referred_to="State DOT",
                public_note="Call the state",
            ),
            10,
        ),
    )
    assert (closed.status, closed.status_reason, closed.referred_to, closed.status_note) == (
        "closed",
        "not_ours",
        "State DOT",
        "Call the state",
    )
    assert (closed.status_changed_at, closed.status_changed_by, closed.reopen_count) == (at(10), "staff-a", 0)
    reopened = replay(
        submission(),
        by(AGENT, StatusChanged(status="closed", reason="fixed"), 10),
        by(OTHER_AGENT, StatusChanged(status="open", previous_status="closed", reason="recurred"), 20),
    )
    assert (reopened.status, reopened.status_reason, reopened.referred_to, reopened.status_note) == (
        "open",
        "recurred",
        None,
        None,
    )
    assert (reopened.reopened_at, reopened.reopen_count, reopened.closed_at) == (at(20), 1, None)
    assert reopened.status_changed_by == "staff-b"


def test_only_leaving_closed_is_a_reopen():
    state = replay(
        submission(),
        by(AGENT, StatusChanged(status="acknowledged"), 1),
        by(AGENT, StatusChanged(status="in_progress"), 2),
    )
    assert (state.reopen_count, state.reopened_at) == (0, None)


def test_comments_are_counted_by_visibility():
    state = replay(
        submission(),
        by(AGENT, CommentAdded(text="on our list", visibility=CommentVisibility.public), 3),
        by(AGENT, CommentAdded(text="the resident is angry", visibility=CommentVisibility.internal), 4),
        by(AGENT, CommentAdded(text="crew booked", visibility=CommentVisibility.internal), 6),
    )
    assert (state.public_comments, state.internal_comments, state.last_comment_at) == (1, 2, at(6))


def test_visits_are_planned_moved_and_cancelled_and_a_cancelled_one_stays_marked():
    scheduled = VisitScheduled(
        visit_id="v1", starts_at=at(600), duration_minutes=60, address="1 Main St", public_note="crew"
    )
    state = replay(
        submission(),
        by(AGENT, scheduled, 5),
        by(
            AGENT,
            VisitRescheduled(
                visit_id="v1",
                starts_at=at(900),
                duration_minutes=90,
                previous_starts_at=at(600),
                address="1 Main St",
            ),
            7,
        ),
        by(
            AGENT, VisitScheduled(visit_id="v2", starts_at=at(2000), duration_minutes=30, address="2 Main"), 8
        ),
        by(OTHER_AGENT, VisitCancelled(visit_id="v2", starts_at=at(2000), public_note="no longer needed"), 9),
    )
    first, second = state.visits
    assert (first.visit_id, first.starts_at, first.duration_minutes, first.state) == (
        "v1",
        at(900),
        90,
        VisitState.planned,
    )
    assert (first.rescheduled_count, first.changed_at, first.public_note, first.scheduled_by) == (
        1,
        at(7),
        "crew",
        "staff-a",
    )
    assert (second.visit_id, second.state, second.changed_at, second.public_note) == (
        "v2",
        VisitState.cancelled,
        at(9),
        "no longer needed",
    )


def test_a_visit_scheduled_twice_under_one_id_is_one_visit_and_an_unknown_one_changes_nothing():
    scheduled = VisitScheduled(visit_id="v1", starts_at=at(600), duration_minutes=60, address="1 Main St")
    state = replay(
        submission(),
        by(AGENT, scheduled, 5),
        by(AGENT, scheduled, 6),
        by(AGENT, VisitCancelled(visit_id="nope", starts_at=at(600)), 7),
    )
    assert [(v.visit_id, v.state) for v in state.visits] == [("v1", VisitState.planned)]


def test_priority_and_category_changes():
    state = replay(
        submission(),
        routed("potholes", 1),
        by(AGENT, PriorityChanged(priority=Priority.high, previous_priority=Priority.normal), 2),
        by(AGENT, CategoryChanged(service_code="sidewalk", previous_service_code="pothole"), 3),
    )
    assert (state.priority, state.service_code, state.previous_service_code) == (
        "high",
        "sidewalk",
        "pothole",
    )


def test_activity_is_what_people_do_not_the_platform_s_machinery():
    state = replay(
        submission(),
        by(AGENT, CommentAdded(text="looking", visibility=CommentVisibility.internal), 10),
        routed("potholes", 20),
        by(
            ROUTER,
            SendFailed(body_id="streets", method="open311", attempt=1, error="timeout", retry_at=at(40)),
            30,
        ),
        by(ROUTER, SentToBackend(body_id="streets", method="open311", attempt=2), 50),
    )
    assert (state.last_activity_at, state.updated_at) == (at(10), at(50))
    assert replay(submission()).last_activity_at == at(0)


def test_a_batch_folds_work_as_one_event_at_a_time_does():
    events = [
        submission(),
        routed("potholes", 1),
        by(AGENT, RequestAssigned(team_id="crews", staff_id="staff-c"), 2),
        by(AGENT, CommentAdded(text="hi", visibility=CommentVisibility.public), 3),
        by(AGENT, VisitScheduled(visit_id="v1", starts_at=at(600), duration_minutes=60, address="1 Main"), 4),
        by(AGENT, StatusChanged(status="closed", reason="fixed"), 5),
        by(AGENT, StatusChanged(status="open", reason="not_fixed"), 6),
    ]
    (batched,) = fold_many({}, events, {}).changed.values()
    assert batched == replay(*events)


def test_routing_proposes_a_priority_until_staff_set_one():
    state = replay(
        submission(),
        routed("potholes", 1, priority="high"),
        by(AGENT, PriorityChanged(priority=Priority.low, previous_priority=Priority.high), 5),
        routed("graffiti-team", 9, priority="high"),
    )
    assert (state.priority, state.priority_set_at) == ("low", at(5))
