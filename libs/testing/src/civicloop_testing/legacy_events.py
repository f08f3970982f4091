"""Events in the older shapes the log still holds, as producers wrote them before the current version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from civicloop_events import Actor, Event
from civicloop_events.payloads import ServiceRequestSubmittedV1

from civicloop_testing.events import request_event


def submitted_v1(
    request_id: str,
    *,
    jurisdiction_id: str = "demo",
    occurred_at: datetime | None = None,
    **fields: Any,
) -> Event[Any]:
    """A resident's web submission in its v1 shape (flat lat/long, one media_url); `fields` are the payload's."""
    return request_event(
        ServiceRequestSubmittedV1(**fields),
        request_id=request_id,
        actor=Actor(kind="resident"),
        source="web",
        jurisdiction_id=jurisdiction_id,
        occurred_at=occurred_at,
    )
