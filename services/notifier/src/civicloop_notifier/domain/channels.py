"""Which channel a message goes on: the resident's preferred one, then the fallback order, skipping what cannot
reach them (no phone for SMS, no email address for email), what they opted out of, and what refused it already."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from civicloop_events.payloads import Channel as PreferredChannel
from civicloop_events.payloads import NotificationChannel

DEFAULT_FALLBACK_ORDER: tuple[NotificationChannel, ...] = (
    NotificationChannel.sms,
    NotificationChannel.email,
    NotificationChannel.whatsapp,
    NotificationChannel.push,
)


def reachable_channels(*, phone: str | None, email: str | None) -> frozenset[NotificationChannel]:
    """The channels a contact can be reached on (push needs a subscription, which a contact does not carry)."""
    found: set[NotificationChannel] = set()
    if phone:
        found |= {NotificationChannel.sms, NotificationChannel.whatsapp}
    if email:
        found.add(NotificationChannel.email)
    return frozenset(found)


def channel_plan(
    preferred: PreferredChannel,
    *,
    reachable: Collection[NotificationChannel],
    opted_out: Collection[NotificationChannel] = (),
    fallback_order: Sequence[NotificationChannel] = DEFAULT_FALLBACK_ORDER,
) -> list[NotificationChannel]:
    """The channels to try, in order. A resident who chose `none` hears nothing."""
    if preferred is PreferredChannel.none:
        return []
    order = [NotificationChannel(preferred.value), *fallback_order]
    plan: list[NotificationChannel] = []
    for channel in order:
        if channel in reachable and channel not in opted_out and channel not in plan:
            plan.append(channel)
    return plan


def next_channel(
    plan: Sequence[NotificationChannel], tried: Collection[NotificationChannel]
) -> NotificationChannel | None:
    """The first channel of the plan not tried yet (a refusal moves on to it), or None when none is left."""
    return next((c for c in plan if c not in tried), None)
