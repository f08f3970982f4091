"""What the fold adds to a notice from what it folded before: a visit change's calendar `SEQUENCE` (and, for a
cancellation, the window and place it cancels), a closing's public photos. Kept with the queued message, so a
replay, a retry or a merged follower's late copy builds the same calendar file and the same attachments."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    CommentVisibility,
    MessageKind,
    ServiceRequestSubmitted,
)

from civicloop_notifier.domain.notices import Notice

PHOTOS = "photos"
"""The notice parameter holding a closing's public photo URLs."""


@dataclasses.dataclass(frozen=True)
class VisitChange:
    sequence: int
    duration_minutes: int | None
    address: str | None


class NoticeFactsStore(Protocol):
    async def visit_changed(
        self,
        *,
        cause_event_id: UUID,
        visit_id: str,
        request_id: str,
        duration_minutes: int | None,
        address: str | None,
    ) -> VisitChange: ...

    async def remember_media(self, request_id: str, urls: Sequence[str], *, at: datetime) -> None: ...

    async def media_of(self, request_id: str) -> Sequence[str]: ...


def public_media(event: Event[Any]) -> list[str]:
    """The photos an event makes public: a submission's, a public comment's, a back-end's (never an internal note's)."""
    p = event.payload
    if isinstance(p, ServiceRequestSubmitted):
        return list(p.media_urls)
    if isinstance(p, CommentAdded) and p.visibility is CommentVisibility.public:
        return list(p.media_urls)
    if isinstance(p, BackendUpdateReceived) and p.media_url:
        return [p.media_url]
    return []


async def fold_notice_facts(
    store: NoticeFactsStore, request_id: str, event: Event[Any], notice: Notice | None
) -> Notice | None:
    """Fold the event's visit change and photos (`request_id` is the event's); the notice with what they add."""
    if urls := public_media(event):
        await store.remember_media(request_id, urls, at=event.occurred_at)
    if notice is None:
        return None
    if notice.visit is not None:
        v = notice.visit
        change = await store.visit_changed(
            cause_event_id=event.event_id,
            visit_id=v.visit_id,
            request_id=request_id,
            duration_minutes=v.duration_minutes,
            address=v.address,
        )
        visit = dataclasses.replace(
            v, sequence=change.sequence, duration_minutes=change.duration_minutes, address=change.address
        )
        notice = dataclasses.replace(notice, visit=visit)
    if notice.kind is MessageKind.closed and (photos := await store.media_of(request_id)):
        notice = dataclasses.replace(notice, params={**notice.params, PHOTOS: list(photos)})
    return notice
