"""What the inbound side folds of the log, in the consumer's transaction: whether a request is still open (a
resident's text lands only on an open one)."""

from __future__ import annotations

from typing import Any, Protocol

from civicloop_events import Event
from civicloop_events.payloads import RequestStatus, StatusChanged


class OpenRequestsStore(Protocol):
    async def set_closed(self, request_id: str, closed: bool) -> None: ...


async def when_status_changed_track_open(store: OpenRequestsStore, event: Event[Any]) -> None:
    if event.request_id is not None and isinstance(event.payload, StatusChanged):
        await store.set_closed(event.request_id, event.payload.status is RequestStatus.closed)
