"""The govDelivery feed's pipeline: the fold queues a bulletin per (event, topic set) in its own transaction; the
feed loop sends each through the govDelivery `ChannelSender`, keeps a row per attempt, retries with back-off.

Exactly once across restarts and replays as the residents' messages are: the bulletin's key is taken by a replay,
and a bulletin is marked sent in the transaction that holds it (claimed `for update skip locked`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import psycopg
from civicloop_channels.govdelivery import topics_to
from civicloop_channels.message import Channel as WireChannel
from civicloop_channels.message import ChannelSender, Outcome, OutgoingMessage, SendResult
from civicloop_events import Event
from civicloop_events.payloads import (
    CategoryChanged,
    LocationResolved,
    LocationUnresolved,
    ServiceRequestSubmitted,
)
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.domain.backoff import retry_at
from civicloop_notifier.domain.feed import (
    FeedRequest,
    FeedRule,
    FeedUpdate,
    bulletin_id,
    render_bulletin,
    update_for,
)
from civicloop_notifier.domain.texts import REASON_CONTEXT, Texts, choose_language
from civicloop_notifier.service_layer.polling_workers import PollingWorkers

log = logging.getLogger("civicloop.notifier.feed")

BULLETINS = Counter(
    "civicloop_notifier_bulletins_total", "govDelivery bulletins handled by the feed", ["result"]
)


@dataclass(frozen=True)
class QueuedBulletin:
    bulletin_id: UUID
    request_id: str
    jurisdiction_id: str
    topics: tuple[str, ...]
    update: FeedUpdate
    attempts: int


class FeedStore(Protocol):
    async def remember(self, request: FeedRequest) -> None: ...

    async def request(self, request_id: str) -> FeedRequest | None: ...

    async def recategorise(self, request_id: str, service_code: str) -> None: ...

    async def place(self, request_id: str, *, district: str | None, public_address: str | None) -> None: ...

    async def queue(
        self,
        *,
        bulletin_id: UUID,
        cause_event_id: UUID,
        occurred_at: datetime,
        request: FeedRequest,
        topics: tuple[str, ...],
        update: FeedUpdate,
        not_before: datetime,
    ) -> bool: ...

    async def claim_due(self, now: datetime) -> QueuedBulletin | None: ...

    async def record_attempt(
        self,
        bulletin_id: UUID,
        *,
        attempt: int,
        provider: str,
        provider_message_id: str | None,
        outcome: str,
        error: str | None,
    ) -> None: ...

    async def mark(
        self,
        bulletin_id: UUID,
        *,
        state: str,
        attempts: int,
        provider_id: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None: ...


async def when_request_event_queue_bulletins(
    store: FeedStore, event: Event[Any], *, rule: FeedRule, now: datetime, max_age: timedelta
) -> bool:
    """Fold what the feed keeps of `event`'s request and queue its bulletin; True when one was queued."""
    p = event.payload
    if event.request_id is None:
        return False
    if isinstance(p, ServiceRequestSubmitted):
        await store.remember(FeedRequest(event.request_id, event.jurisdiction_id, p.service_code))
        return False
    request = await store.request(event.request_id)
    if request is None:
        return False  # submitted before the feed's first start, or not a request the feed knows
    if isinstance(p, CategoryChanged):
        await store.recategorise(request.request_id, p.service_code)
        return False
    first_placement = False
    if isinstance(p, LocationResolved | LocationUnresolved):
        first_placement = not request.placed
        district = rule.district_of(p) if isinstance(p, LocationResolved) else request.district
        address = p.public.address if isinstance(p, LocationResolved) else request.public_address
        await store.place(request.request_id, district=district, public_address=address)
        request = FeedRequest(
            request.request_id, request.jurisdiction_id, request.service_code, district, address, True
        )
    update = update_for(event, request, first_placement=first_placement)
    if update is None or now - event.occurred_at > max_age:
        return False
    topics = rule.topics(request)
    if not topics:
        return False
    return await store.queue(
        bulletin_id=bulletin_id(event.event_id, topics),
        cause_event_id=event.event_id,
        occurred_at=event.occurred_at,
        request=request,
        topics=topics,
        update=update,
        not_before=now,
    )


@dataclass(frozen=True)
class FeedPolicy:
    tracking_url: str  # `{number}` is the request number
    language: str  # the bulletins' language
    max_attempts: int
    backoff_initial_s: float
    backoff_max_s: float
    send_timeout_s: float


@dataclass(frozen=True)
class FeedDeps:
    sender: ChannelSender
    texts: Texts
    policy: FeedPolicy
    clock: Callable[[], datetime]
    rand: Callable[[], float]


async def send_bulletin(store: FeedStore, bulletin: QueuedBulletin, deps: FeedDeps) -> str:
    """Send `bulletin` once; returns what became of it: `sent`, `retry`, `given_up`."""
    policy = deps.policy
    texts = deps.texts
    catalog = texts.catalogs[choose_language(policy.language, texts.catalogs)]

    def translate(msgid: str) -> str:
        return texts.text(msgid, language=policy.language, jurisdiction_id=bulletin.jurisdiction_id)

    def reason_label(code: str) -> str:
        label = catalog.pgettext(REASON_CONTEXT, code)
        return (label if isinstance(label, str) else code).replace("_", " ")

    rendered = render_bulletin(
        bulletin.update,
        number=bulletin.request_id,
        tracking_link=policy.tracking_url.format(number=bulletin.request_id),
        translate=translate,
        reason_label=reason_label,
    )
    message = OutgoingMessage(
        message_id=str(bulletin.bulletin_id),
        channel=WireChannel.govdelivery,
        to=topics_to(bulletin.topics),
        text=rendered.text,
        language=policy.language,
        subject=rendered.subject,
    )
    try:
        async with asyncio.timeout(policy.send_timeout_s):
            result = await deps.sender.send(message)
    except TimeoutError:
        result = SendResult(Outcome.failed, "govdelivery", error="timeout")
    attempt = bulletin.attempts + 1
    await store.record_attempt(
        bulletin.bulletin_id,
        attempt=attempt,
        provider=result.provider,
        provider_message_id=result.provider_id,
        outcome=result.outcome.value,
        error=result.error[:200] if result.error else None,
    )
    if result.outcome is Outcome.accepted:
        await store.mark(bulletin.bulletin_id, state="sent", attempts=attempt, provider_id=result.provider_id)
        return "sent"
    if result.outcome is Outcome.failed and attempt < policy.max_attempts:
        when = retry_at(
            deps.clock(),
            attempt=attempt,
            initial_s=policy.backoff_initial_s,
            max_s=policy.backoff_max_s,
            rand=deps.rand(),
            retry_after_s=result.retry_after_s,
        )
        await store.mark(bulletin.bulletin_id, state="pending", attempts=attempt, next_attempt_at=when)
        return "retry"
    await store.mark(bulletin.bulletin_id, state="given_up", attempts=attempt)
    return "given_up"


class FeedLoop(PollingWorkers):
    """One worker sending due bulletins (a county's feed is a trickle; order per request is kept by the claim)."""

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        store_for: Callable[[psycopg.AsyncConnection[Any]], FeedStore],
        deps: FeedDeps,
        poll_interval_s: float,
    ) -> None:
        super().__init__(poll_interval_s=poll_interval_s, concurrency=1, log=log, what="feed")
        self.pool = pool
        self.store_for = store_for
        self.deps = deps

    async def step(self) -> bool:
        """Claim and send one due bulletin; False when none is due."""
        async with self.pool.connection() as conn, conn.transaction():
            store = self.store_for(conn)
            bulletin = await store.claim_due(self.deps.clock())
            if bulletin is None:
                return False
            result = await send_bulletin(store, bulletin, self.deps)
        BULLETINS.labels(result).inc()
        return True
