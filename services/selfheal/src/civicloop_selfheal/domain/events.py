"""The event each action is: selfheal as a system actor, source `selfheal`, the id derived from the action (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    AgentReminded,
    BodyPollNudged,
    ClusterEscalated,
    DeliveryRequeued,
    Escalated,
    EventPayload,
    LateDeclared,
    StuckReason,
)

from civicloop_selfheal.domain.decisions import Action, ActionKind

SOURCE = "selfheal"
ACTOR = Actor(kind=ActorKind.system, id="selfheal")


def payload_of(action: Action) -> EventPayload:
    kind = action.kind
    if kind is ActionKind.requeue:
        return DeliveryRequeued(
            body_id=_required(action.body_id, "a requeue's body"),
            reason=StuckReason(action.reason),
            attempts=action.attempts,
        )
    if kind is ActionKind.nudge:
        return BodyPollNudged(body_id=_required(action.body_id, "a nudge's body"), failing_since=action.since)
    if kind is ActionKind.escalate:
        return Escalated(
            reason=StuckReason(action.reason),
            since=action.since,
            team_id=action.team_id,
            assignee=action.assignee,
            service_code=action.service_code,
        )
    if kind is ActionKind.remind:
        return AgentReminded(
            staff_id=_required(action.assignee, "the staff member reminded"),
            reason=StuckReason(action.reason),
            since=action.since,
        )
    if kind is ActionKind.declare_late:
        return LateDeclared(reason=StuckReason(action.reason), since=action.since, due_at=action.due_at)
    return ClusterEscalated(
        cluster_id=_required(action.cluster_id, "the hot spot"),
        service_code=_required(action.service_code, "the hot spot's category"),
        requests=action.cluster_size,
        detected_at=action.since,
        area_ids=list(action.area_ids),
    )


def _required(value: str | None, what: str) -> str:
    if value is None:
        raise ValueError(f"{what} is missing from the action")
    return value


def event_of(action: Action, *, now: datetime) -> Event[Any]:
    return Event.create(
        payload_of(action),
        request_id=action.request_number,
        jurisdiction_id=action.jurisdiction_id,
        actor=ACTOR,
        source=SOURCE,
        occurred_at=now,
        event_id=action.event_id,
    )
