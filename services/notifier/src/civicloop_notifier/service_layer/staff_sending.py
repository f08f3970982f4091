"""E-mailing staff about stuck requests and hot spots: each notice is expanded to its recipients from the directory
as it is when sent (one message per staff member, unique on the event and the member), then each message is sent
in its own transaction, with a row per attempt, as residents' messages are. A message marked sent is never sent
again, across restarts and replays; a process dying between the provider's acceptance and that commit sends it once
more, under the same Message-ID.

A notice that finds no recipient (the directory not folded that far yet, or nobody supervising) is looked at again
with the notifier's back-off, and set aside as `no_recipient` after `CIVICLOOP_NOTIFIER_MAX_ATTEMPTS` looks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import psycopg
from babel import Locale
from babel.dates import format_datetime
from civicloop_channels.message import Channel as WireChannel
from civicloop_channels.message import ChannelSender, Outcome, OutgoingMessage
from civicloop_events.personal_data import PersonalData, PersonalDataUnreadable, SealedPersonalData
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier.domain.backoff import retry_at
from civicloop_notifier.domain.staff import recipients
from civicloop_notifier.domain.staff_texts import render_staff_email
from civicloop_notifier.domain.texts import Texts, choose_language
from civicloop_notifier.service_layer.polling_workers import PollingWorkers
from civicloop_notifier.service_layer.sending import send_bounded
from civicloop_notifier.service_layer.staff_ports import StaffMessage, StaffStore

log = logging.getLogger("civicloop.notifier.staff")

STAFF_OUTCOMES = Counter(
    "civicloop_notifier_staff_messages_total", "E-mails to staff handled by the staff sender", ["result"]
)


class StaffPolicy(Protocol):
    """What the staff sender reads of the settings (`NotifierSettings` has it all)."""

    agent_console_url: str
    notifier_staff_language: str
    notifier_send_timeout_s: float
    notifier_max_attempts: int
    notifier_backoff_initial_s: float
    notifier_backoff_max_s: float

    def time_zone_of(self, jurisdiction_id: str) -> str: ...


@dataclass(frozen=True)
class StaffDeps:
    email: ChannelSender | None  # None: no e-mail sender configured, staff messages end `no_address`
    texts: Texts
    policy: StaffPolicy
    unseal: Callable[[SealedPersonalData], Awaitable[PersonalData]]
    clock: Callable[[], datetime]
    rand: Callable[[], float]


def _later(deps: StaffDeps, now: datetime, attempt: int) -> datetime:
    return retry_at(
        now,
        attempt=attempt,
        initial_s=deps.policy.notifier_backoff_initial_s,
        max_s=deps.policy.notifier_backoff_max_s,
        rand=deps.rand(),
    )


async def expand_one(store: StaffStore, deps: StaffDeps) -> str | None:
    """Choose the recipients of one due notice; None when none is due."""
    now = deps.clock()
    claimed = await store.claim_notice(now)
    if claimed is None:
        return None
    chosen = recipients(
        claimed.notice, claimed.jurisdiction_id, await store.directory(claimed.jurisdiction_id)
    )
    if chosen.staff_ids:
        await store.expand(claimed.cause_event_id, chosen)
        return "expanded"
    attempts = claimed.attempts + 1
    last = attempts >= deps.policy.notifier_max_attempts
    await store.retry_notice(
        claimed.cause_event_id, attempts=attempts, at=None if last else _later(deps, now, attempts)
    )
    return "no_recipient" if last else "waiting"


def render(message: StaffMessage, deps: StaffDeps) -> tuple[str, str, str]:
    """The subject, text and language of `message` (the agent console's link when it is about one request)."""
    texts = deps.texts
    language = choose_language(deps.policy.notifier_staff_language, texts.catalogs)
    locale = Locale.parse(language.replace("-", "_"))
    zone = ZoneInfo(deps.policy.time_zone_of(message.jurisdiction_id))

    def t(msgid: str) -> str:
        return texts.text(msgid, language=language, jurisdiction_id=message.jurisdiction_id)

    def when(at: datetime) -> str:
        return format_datetime(at, format="medium", tzinfo=zone, locale=locale)

    link = deps.policy.agent_console_url.format(number=message.request_id) if message.request_id else None
    mail = render_staff_email(
        message.notice,
        role=message.role,
        number=message.request_id,
        console_link=link,
        team_name=message.team_name,
        t=t,
        when=when,
    )
    return mail.subject, mail.text, language


async def send_one(store: StaffStore, message: StaffMessage, deps: StaffDeps) -> str:
    """Try `message` once; returns what became of it: `sent`, `retry`, `given_up`, `no_address`, `erased`."""
    now = deps.clock()
    try:
        contact = await deps.unseal(message.contact)
    except PersonalDataUnreadable:  # the staff member's key was shredded: nobody left to write to
        await store.mark_message(message.message_id, state="erased", attempts=message.attempts)
        return "erased"
    if deps.email is None or not contact.email:
        await store.mark_message(message.message_id, state="no_address", attempts=message.attempts)
        return "no_address"
    subject, text, language = render(message, deps)
    outgoing = OutgoingMessage(
        message_id=str(message.message_id),
        channel=WireChannel.email,
        to=contact.email,
        text=text,
        language=language,
        subject=subject,
    )
    result = await send_bounded(deps.email, outgoing, deps.policy.notifier_send_timeout_s)
    attempt = message.attempts + 1
    await store.record_attempt(
        message.message_id,
        attempt=attempt,
        provider=result.provider,
        provider_message_id=result.provider_id,
        outcome=result.outcome.value,
        error=result.error,
    )
    if result.outcome is Outcome.accepted:
        await store.mark_message(message.message_id, state="sent", attempts=attempt)
        return "sent"
    if result.outcome is Outcome.failed and attempt < deps.policy.notifier_max_attempts:
        await store.mark_message(
            message.message_id, state="pending", attempts=attempt, next_attempt_at=_later(deps, now, attempt)
        )
        return "retry"
    await store.mark_message(message.message_id, state="given_up", attempts=attempt)
    return "given_up"


class StaffSenderLoop(PollingWorkers):
    """One worker: expands due notices, then sends due messages, one per transaction (`for update skip locked`,
    so several processes never take the same row)."""

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        store_for: Callable[[psycopg.AsyncConnection[Any]], StaffStore],
        deps: StaffDeps,
        poll_interval_s: float,
    ) -> None:
        super().__init__(poll_interval_s=poll_interval_s, concurrency=1, log=log, what="staff sending")
        self.pool = pool
        self.store_for = store_for
        self.deps = deps

    async def step(self) -> bool:
        """Expand one due notice, else send one due message; False when neither was due."""
        async with self.pool.connection() as conn, conn.transaction():
            expanded = await expand_one(self.store_for(conn), self.deps)
        if expanded is not None:
            return True
        async with self.pool.connection() as conn, conn.transaction():
            store = self.store_for(conn)
            message = await store.claim_message(self.deps.clock())
            if message is None:
                return False
            result = await send_one(store, message, self.deps)
        STAFF_OUTCOMES.labels(result).inc()
        return True
