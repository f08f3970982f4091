"""Events of one request, as the notifier's tests need them."""

from __future__ import annotations

from typing import Any

from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import EventPayload

NUMBER = "1ABC-2DEF"
AGENT = Actor(kind=ActorKind.agent, id="staff-1")


def event(payload: EventPayload, *, number: str = NUMBER, jurisdiction: str = "demo") -> Event[Any]:
    return Event.create(payload, request_id=number, jurisdiction_id=jurisdiction, actor=AGENT, source="agent")
