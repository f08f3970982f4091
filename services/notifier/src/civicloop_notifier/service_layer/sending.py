"""Sending one queued message: quiet hours, the resident's contact unsealed, opt-outs, the channel plan, the text in
their language, the provider's answer recorded as an attempt row and as `NotificationSent` / `NotificationFailed`.

Runs inside the transaction that holds the message's row (claimed `for update skip locked`): the attempt row, the
events and the message's new state commit together, so a message marked sent is never sent again, across restarts,
retries and replays. A process that dies after the provider accepted and before that commit sends it again after
its restart, under the same delivery key (event, resident, channel), which a provider that takes one drops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from civicloop_channels.message import Channel as WireChannel
from civicloop_channels.message import ChannelSender, Outcome, OutgoingMessage, SendResult
from civicloop_events import Actor, ActorKind, Event, derived_event_id
from civicloop_events.payloads import (
    MessageKind,
    NotificationChannel,
    NotificationFailed,
    NotificationOutcome,
    NotificationSent,
)
from civicloop_events.personal_data import PersonalData, PersonalDataUnreadable, SealedPersonalData

from civicloop_notifier.domain.backoff import retry_at
from civicloop_notifier.domain.channels import channel_plan, next_channel, reachable_channels
from civicloop_notifier.domain.keys import delivery_key
from civicloop_notifier.domain.notices import notice_from_json
from civicloop_notifier.domain.opt_outs import contact_digest
from civicloop_notifier.domain.quiet_hours import QuietHours
from civicloop_notifier.domain.texts import Texts
from civicloop_notifier.domain.unsubscribe import unsubscribe_token
from civicloop_notifier.service_layer.email_extras import EmailExtras, Extras
from civicloop_notifier.service_layer.ports import Attempt, MessagesStore, QueuedMessage
from civicloop_notifier.service_layer.replies import reply_to_header

log = logging.getLogger("civicloop.notifier.sending")

NOTIFIER_ACTOR = Actor(kind=ActorKind.system, id="notifier")
NOTIFIER_SOURCE = "notifier"
UNSUBSCRIBE_PATH = "/api/v1/notifier/unsubscribe"


class SendingPolicy(Protocol):
    """What sending reads of the settings (`NotifierSettings` has it all)."""

    tracking_url: str
    public_url: str
    notifier_fallback_order: list[NotificationChannel]
    notifier_send_timeout_s: float
    notifier_max_attempts: int
    notifier_backoff_initial_s: float
    notifier_backoff_max_s: float

    def time_zone_of(self, jurisdiction_id: str) -> str: ...

    def quiet_hours_of(self, jurisdiction_id: str) -> QuietHours | None: ...


@dataclass(frozen=True)
class SendingDeps:
    senders: Mapping[NotificationChannel, ChannelSender]
    texts: Texts
    policy: SendingPolicy
    pepper: bytes
    unseal: Callable[[SealedPersonalData], Awaitable[PersonalData]]
    publish: Callable[[Event[Any]], Awaitable[Any]]
    clock: Callable[[], datetime]
    rand: Callable[[], float]
    email_extras: EmailExtras | None = None  # a visit's .ics, a closing's photos


def _address(channel: NotificationChannel, contact: PersonalData) -> str | None:
    if channel in (NotificationChannel.sms, NotificationChannel.whatsapp):
        return contact.phone
    if channel is NotificationChannel.email:
        return contact.email
    return None


async def send_one(store: MessagesStore, message: QueuedMessage, deps: SendingDeps) -> str:
    """Try `message` once (or postpone it); returns what became of it, for metrics: `sent`, `refused`, `retry`,
    `given_up`, `erased`, `quiet`."""
    now = deps.clock()
    resident = message.resident
    quiet = deps.policy.quiet_hours_of(resident.jurisdiction_id)
    if quiet is not None and (release := quiet.release_at(now)) > now:
        await store.postpone(message.notification_id, release)
        return "quiet"
    try:
        contact = await deps.unseal(resident.contact)
    except PersonalDataUnreadable:
        # The resident was erased: nothing is sent, and nothing of them is left to write down.
        await store.mark(
            message.notification_id, state="erased", channel=None, tried=message.tried_channels, attempts=0
        )
        return "erased"
    reachable = reachable_channels(phone=contact.phone, email=contact.email) & set(deps.senders)
    digests = {
        c: contact_digest(deps.pepper, c, address)
        for c in reachable
        if (address := _address(c, contact)) is not None
    }
    opted_out = await store.opted_out(digests)
    plan = channel_plan(
        resident.preferred_channel,
        reachable=reachable,
        opted_out=opted_out,
        fallback_order=deps.policy.notifier_fallback_order,
    )
    channel = message.channel if message.channel in plan else next_channel(plan, message.tried_channels)
    if channel is None:
        await _give_up(store, message, deps, channel=None, attempts=0, outcome=NotificationOutcome.no_channel)
        return "given_up"
    attempts = message.attempts if channel == message.channel else 0
    address = _address(channel, contact) or ""  # the plan holds reachable channels only: never empty
    notice = notice_from_json(message.notice)
    tracking_link = deps.policy.tracking_url.format(number=message.about_request_id)
    rendered = deps.texts.render(
        notice,
        number=message.about_request_id,
        tracking_link=tracking_link,
        language=resident.language,
        jurisdiction_id=resident.jurisdiction_id,
        time_zone=deps.policy.time_zone_of(resident.jurisdiction_id),
    )
    extras = Extras()
    if channel is NotificationChannel.email and deps.email_extras is not None:
        extras = await deps.email_extras.for_notice(
            notice,
            number=message.about_request_id,
            tracking_link=tracking_link,
            translate=partial(
                deps.texts.text, language=resident.language, jurisdiction_id=resident.jurisdiction_id
            ),
        )
    outgoing = OutgoingMessage(
        message_id=delivery_key(message.cause_event_id, resident.resident_id, channel.value),
        channel=WireChannel(channel.value),
        to=address,
        text="\n".join((rendered.text, *extras.lines)),
        language=rendered.language,
        subject=rendered.subject,
        attachments=extras.attachments,
        headers={
            **_unsubscribe_headers(deps, channel, digests[channel]),
            **reply_to_header(deps.pepper, deps.policy, message.about_request_id, resident.resident_id),
        }
        if channel is NotificationChannel.email
        else {},
    )
    result = await send_bounded(deps.senders[channel], outgoing, deps.policy.notifier_send_timeout_s)
    attempt = attempts + 1
    await store.record_attempt(
        message.notification_id,
        Attempt(channel, attempt, result.provider, result.provider_id, result.outcome.value, result.error),
    )
    if result.outcome is Outcome.accepted:
        await store.mark(
            message.notification_id,
            state="sent",
            channel=channel,
            tried=message.tried_channels,
            attempts=attempt,
        )
        await deps.publish(_sent_event(message, channel, result, rendered.language, attempt))
        return "sent"
    if result.outcome is Outcome.failed and attempt < deps.policy.notifier_max_attempts:
        when = retry_at(
            now,
            attempt=attempt,
            initial_s=deps.policy.notifier_backoff_initial_s,
            max_s=deps.policy.notifier_backoff_max_s,
            rand=deps.rand(),
            retry_after_s=result.retry_after_s,
        )
        await store.mark(
            message.notification_id,
            state="pending",
            channel=channel,
            tried=message.tried_channels,
            attempts=attempt,
            next_attempt_at=when,
        )
        return "retry"
    # Refused for good, or failed on every attempt: this channel is done; the next of the plan takes over.
    tried = (*message.tried_channels, channel)
    fallback = next_channel(plan, tried)
    outcome = NotificationOutcome.refused if result.outcome is Outcome.refused else NotificationOutcome.failed
    await deps.publish(
        _failed_event(
            message, channel, result.provider, rendered.language, attempt, outcome, result.error, fallback
        )
    )
    if fallback is None:
        await store.mark(
            message.notification_id, state="given_up", channel=channel, tried=tried, attempts=attempt
        )
        return "given_up"
    await store.mark(
        message.notification_id,
        state="pending",
        channel=fallback,
        tried=tried,
        attempts=0,
        next_attempt_at=now,
    )
    return "refused"


def _unsubscribe_headers(deps: SendingDeps, channel: NotificationChannel, digest: bytes) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the link's token is in the query string, which logs and traces never keep.

    One-click is for HTTPS links only (RFC 8058 §3; the email sender refuses it otherwise): a notifier reached over
    plain HTTP (a development machine) offers the link without it, so its mail still goes."""
    link = (
        f"{deps.policy.public_url}{UNSUBSCRIBE_PATH}?token={unsubscribe_token(deps.pepper, channel, digest)}"
    )
    headers = {"List-Unsubscribe": f"<{link}>"}
    if link.startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


async def send_bounded(sender: ChannelSender, message: OutgoingMessage, timeout_s: float) -> SendResult:
    """The provider's answer; a sender that raises or hangs past the bound is a failed attempt (tried again)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await sender.send(message)
    except TimeoutError:
        return SendResult(Outcome.failed, provider="unknown", error="timeout")
    except Exception as exc:  # a sender's bug or a lost connection: never lose the message for it
        log.warning("sender raised", extra={"channel": message.channel.value, "error": type(exc).__name__})
        return SendResult(Outcome.failed, provider="unknown", error=type(exc).__name__)


async def _give_up(
    store: MessagesStore,
    message: QueuedMessage,
    deps: SendingDeps,
    *,
    channel: NotificationChannel | None,
    attempts: int,
    outcome: NotificationOutcome,
) -> None:
    await store.mark(
        message.notification_id,
        state="given_up",
        channel=channel,
        tried=message.tried_channels,
        attempts=attempts,
    )
    await deps.publish(
        _failed_event(message, channel, None, message.resident.language, attempts, outcome, None, None)
    )


def _envelope(message: QueuedMessage, payload: Any, *parts: object) -> Event[Any]:
    return Event.create(
        payload,
        request_id=message.resident.request_id,
        jurisdiction_id=message.resident.jurisdiction_id,
        actor=NOTIFIER_ACTOR,
        source=NOTIFIER_SOURCE,
        event_id=derived_event_id(payload.event_type, message.notification_id, *parts),
    )


def _sent_event(
    message: QueuedMessage, channel: NotificationChannel, result: SendResult, language: str, attempt: int
) -> Event[Any]:
    payload = NotificationSent(
        notification_id=message.notification_id,
        cause_event_id=message.cause_event_id,
        resident_id=message.resident.resident_id,
        kind=MessageKind(message.kind),
        channel=channel,
        provider=_provider_name(result.provider),
        provider_message_id=(result.provider_id or None),
        language=language,
        attempt=attempt,
    )
    return _envelope(message, payload, channel.value, attempt)


def _failed_event(
    message: QueuedMessage,
    channel: NotificationChannel | None,
    provider: str | None,
    language: str,
    attempts: int,
    outcome: NotificationOutcome,
    error: str | None,
    fallback: NotificationChannel | None,
) -> Event[Any]:
    payload = NotificationFailed(
        notification_id=message.notification_id,
        cause_event_id=message.cause_event_id,
        resident_id=message.resident.resident_id,
        kind=MessageKind(message.kind),
        channel=channel,
        provider=_provider_name(provider) if provider else None,
        language=language,
        attempt=attempts,
        outcome=outcome,
        error_code=error[:64] if error else None,
        fallback_channel=fallback,
    )
    return _envelope(message, payload, channel.value if channel else "none", attempts)


def _provider_name(provider: str) -> str:
    """A provider's name as the events spell it (lower case, no spaces)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in provider.lower())[:40]
    return cleaned if cleaned[:1].isalpha() else "unknown"
