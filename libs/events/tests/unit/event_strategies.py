"""What the event property tests share: instants, request numbers, actor kinds, and the envelope around a payload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from civicloop_events import Actor, Event
from hypothesis import strategies as st

times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
numbers = st.from_regex(r"\A[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\Z")
actor_kinds = st.sampled_from(["resident", "agent", "partner", "system"])


def envelope(
    payload: Any, number: str | None, when: datetime, actor_kind: str, event_id: uuid.UUID | None = None
) -> Event[Any]:
    """A web event of jurisdiction "demo" around `payload` (a fresh event id unless given)."""
    return Event.create(
        payload,
        request_id=number,
        jurisdiction_id="demo",
        actor=Actor(kind=actor_kind),
        source="web",
        occurred_at=when,
        event_id=event_id or uuid.uuid4(),
    )
