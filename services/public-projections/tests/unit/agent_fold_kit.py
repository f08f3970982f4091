"""What the agent view's fold tests share: one request, a fixed clock, and replaying events through the fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicloop_events import Actor, Event
from civicloop_projections.domain.agent_request import AgentRequest, fold
from civicloop_testing.events import request_event

NUMBER, J = "ABCD-1234", "demo"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def on_request(payload, minutes: float, actor: Actor, source: str) -> Event:
    """An event on the request NUMBER of jurisdiction J, `minutes` after T0."""
    return request_event(payload, request_id=NUMBER, actor=actor, source=source, occurred_at=at(minutes))


def replay(*events: Event) -> AgentRequest | None:
    state = None
    for e in events:
        state = fold(state, e)
    return state
