"""What the sweep does about its findings (pure): each action once, the cooldown, requeue before escalation."""

from __future__ import annotations

from datetime import timedelta

from civicloop_events.payloads import (
    AgentReminded,
    BodyPollNudged,
    ClusterEscalated,
    DeliveryRequeued,
    Escalated,
    LateDeclared,
    RequestAssigned,
    StuckReason,
)
from civicloop_selfheal.domain.decisions import ActionKind, Ledger, decide
from civicloop_selfheal.domain.events import ACTOR, event_of
from civicloop_selfheal.domain.findings import Findings, SweepPolicy, find
from civicloop_selfheal.domain.view import BodyView, ClusterView, DeadLetter, RequestView, request_after
from civicloop_sla.clock import SlaPolicy
from selfheal_events import DEFINITION, T0, H, at, given_up, routed, submitted

POLICIES = {"demo": SlaPolicy.of(DEFINITION)}
SWEEP = SweepPolicy()
STAFF = "0193a1b2-0000-7000-8000-00000000a002"


def fold(*events) -> RequestView:
    view = None
    for event in events:
        view = request_after(view, event)
    assert view is not None
    return view


def findings(*requests: RequestView, now, bodies=(), clusters=(), dead_letters=()) -> Findings:
    members = {r.number: r for r in requests}
    return find(
        requests=requests,
        policies=POLICIES,
        bodies={(b.jurisdiction_id, b.body_id): b for b in bodies},
        clusters=clusters,
        cluster_members=members,
        dead_letters=dead_letters,
        dead_letter_requests=members,
        submissions_pending=0,
        sweep=SWEEP,
        now=now,
    )


def actions(found: Findings, now, ledger: Ledger | None = None, done=frozenset()):
    return decide(found, ledger or Ledger.empty(), done=done, sweep=SWEEP, now=now)


def kinds(acts) -> list[tuple[ActionKind, str]]:
    return [(a.kind, a.reason) for a in acts]


def test_unacknowledged_is_escalated_and_the_resident_told_it_is_late() -> None:
    now = T0 + 2 * H
    acts = actions(findings(fold(submitted()), now=now), now)
    assert kinds(acts) == [
        (ActionKind.escalate, "unacknowledged"),
        (ActionKind.declare_late, "unacknowledged"),
    ]
    escalated, late = (event_of(a, now=now) for a in acts)
    assert isinstance(escalated.payload, Escalated) and escalated.payload.since == T0 + H
    assert isinstance(late.payload, LateDeclared) and late.payload.due_at == T0 + H
    assert escalated.actor == ACTOR and escalated.source == "selfheal"
    assert escalated.event_id == acts[0].event_id  # derived: a repeated sweep builds the same event


def test_past_due_reminds_the_assignee_too_and_one_action_of_a_kind_per_request() -> None:
    now = T0 + 9 * H
    view = fold(submitted(), at(RequestAssigned(team_id="roads", staff_id=STAFF), T0 + 0.2 * H))
    acts = actions(findings(view, now=now), now)
    # past due and unacknowledged: one escalation (the worse reason), one reminder, one late notice
    assert kinds(acts) == [
        (ActionKind.remind, "past_due"),
        (ActionKind.escalate, "past_due"),
        (ActionKind.declare_late, "past_due"),
    ]
    reminded = event_of(acts[0], now=now).payload
    assert isinstance(reminded, AgentReminded) and reminded.staff_id == STAFF
    escalated = event_of(acts[1], now=now).payload
    assert (escalated.team_id, escalated.assignee, escalated.service_code) == ("roads", STAFF, "pothole")


def test_dormant_is_escalated_and_the_assignee_if_any_reminded_as_the_late_notice_says_a_supervisor_knows() -> (
    None
):
    now = T0 + timedelta(days=3)
    view = fold(submitted(service_code="graffiti"))  # a category with no targets: only dormancy
    assert kinds(actions(findings(view, now=now), now)) == [
        (ActionKind.escalate, "dormant"),
        (ActionKind.declare_late, "dormant"),
    ]
    assigned = request_after(view, at(RequestAssigned(staff_id=STAFF), T0 + H))
    assert kinds(actions(findings(assigned, now=now), now)) == [
        (ActionKind.remind, "dormant"),
        (ActionKind.escalate, "dormant"),
        (ActionKind.declare_late, "dormant"),
    ]


def test_an_action_done_already_is_not_done_again_and_the_next_reason_waits_for_the_cooldown() -> None:
    now = T0 + 9 * H
    found = findings(fold(submitted()), now=now)
    first = actions(found, now)
    ledger = Ledger(last_action_at={(a.kind, a.subject): now for a in first}, last_requeue_at={})
    done = {a.event_id for a in first}
    assert actions(found, now + H, ledger, done) == []  # within the cooldown
    later = now + SWEEP.cooldown
    again = actions(found, later, ledger, done)
    # past due was done once (same fact, same id): the next reason, unacknowledged, gets its turn
    assert kinds(again) == [
        (ActionKind.escalate, "unacknowledged"),
        (ActionKind.declare_late, "unacknowledged"),
    ]


def test_a_delivery_given_up_is_requeued_once_then_escalated_when_given_up_again() -> None:
    view = fold(submitted(), routed(T0), given_up(T0 + 0.5 * H))
    now = T0 + 0.6 * H
    [requeue] = actions(findings(view, now=now), now)
    assert (requeue.kind, requeue.reason) == (ActionKind.requeue, "delivery_given_up")
    payload = event_of(requeue, now=now).payload
    assert isinstance(payload, DeliveryRequeued) and (payload.body_id, payload.attempts) == ("roads", 5)
    ledger = Ledger(
        last_action_at={(ActionKind.requeue, view.number): now}, last_requeue_at={view.number: now}
    )
    # outbound has not answered yet: nothing
    assert actions(findings(view, now=now + 0.1 * H), now + 0.1 * H, ledger, {requeue.event_id}) == []
    again = request_after(view, given_up(T0 + 2 * H))
    escalated = actions(findings(again, now=T0 + 2.1 * H), T0 + 2.1 * H, ledger, {requeue.event_id})
    assert kinds(escalated)[0] == (ActionKind.escalate, "delivery_given_up")


def test_a_failing_poller_is_nudged_and_a_hot_spot_escalated() -> None:
    now = T0 + 30 * H
    body = BodyView("demo", "roads", failing_since=T0, failures=4)
    cluster = ClusterView("c-1", "demo", "pothole", ("1ABC-DEFG", "1ABC-DEFH"), T0, ("ward-3",))
    acts = actions(findings(bodies=[body], clusters=[cluster], now=now), now)
    nudge, hot_spot = (event_of(a, now=now) for a in acts)
    assert isinstance(nudge.payload, BodyPollNudged) and nudge.request_id is None
    assert isinstance(hot_spot.payload, ClusterEscalated)
    assert (hot_spot.request_id, hot_spot.payload.requests, hot_spot.payload.area_ids) == (
        None,
        2,
        ["ward-3"],
    )


def test_a_dead_letter_of_a_known_open_request_is_escalated_once() -> None:
    view = fold(submitted())
    letter = DeadLetter("requests.events", 0, 7, "geo.requests.v1", "handler", T0, view.number, "demo")
    now = T0 + 0.5 * H
    acts = actions(findings(view, now=now, dead_letters=[letter]), now)
    assert kinds(acts) == [(ActionKind.escalate, StuckReason.dead_lettered.value)]
