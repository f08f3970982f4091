"""Envelopes as tests write them, publishing them to the real broker in one call, and reading a topic back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from civicloop_events import Actor, Event, decode_event
from civicloop_events.payloads.base import EventPayload
from civicloop_events.producer import EventProducer, Position

from civicloop_testing import read_all_records


def config_event(
    payload: EventPayload,
    *,
    jurisdiction_id: str = "demo",
    admin: str = "tests",
    occurred_at: datetime | None = None,
) -> Event[Any]:
    """A jurisdiction configuration event (catalogue, areas, partners) as an administrator publishes it."""
    admin_actor = Actor(kind="system", id=admin)
    return request_event(
        payload,
        request_id=None,
        actor=admin_actor,
        source="admin",
        jurisdiction_id=jurisdiction_id,
        occurred_at=occurred_at,
    )


def request_event(
    payload: EventPayload,
    *,
    request_id: str | None,
    actor: Actor,
    source: str,
    jurisdiction_id: str = "demo",
    occurred_at: datetime | None = None,
) -> Event[Any]:
    """An event on a request, by whoever the test says, at the time the test says (now unless told)."""
    return Event.create(
        payload,
        request_id=request_id,
        jurisdiction_id=jurisdiction_id,
        actor=actor,
        source=source,
        occurred_at=occurred_at,
    )


def agent_event(
    payload: EventPayload,
    *,
    request_id: str,
    agent: str = "agent-3",
    jurisdiction_id: str = "demo",
    occurred_at: datetime | None = None,
) -> Event[Any]:
    """An event an agent records on a request (a status change, a comment)."""
    return request_event(
        payload,
        request_id=request_id,
        actor=Actor(kind="agent", id=agent),
        source="agent",
        jurisdiction_id=jurisdiction_id,
        occurred_at=occurred_at,
    )


async def publish_events(
    bootstrap: str, topic: str, events: Iterable[Event[Any]], *, client_id: str = "civicloop-tests"
) -> list[Position]:
    """Publish `events` in order on `topic` with a producer of their own; where each one landed."""
    producer = EventProducer(bootstrap, topic, client_id=client_id)
    await producer.start()
    try:
        return [await producer.publish(event) for event in events]
    finally:
        await producer.stop()


async def read_all_events(bootstrap: str, topic: str, partition_count: int) -> list[Event[Any]]:
    """Every event on `topic` right now, from the first, decoded (in partition order)."""
    return [decode_event(r.value) for r in await read_all_records(bootstrap, topic, partition_count)]
