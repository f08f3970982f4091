"""Stable ids: the same cause, resident and channel always give the same message id, so nothing is sent twice."""

from __future__ import annotations

from uuid import UUID, uuid5

_NOTIFIER = UUID("6f0c3b5e-2a7d-5c1e-9b44-0d7c2e9a1f30")


def notification_id(cause_event_id: UUID, resident_id: UUID) -> UUID:
    """One message per (event told about, resident), whatever channel it ends up on."""
    return uuid5(_NOTIFIER, f"notification:{cause_event_id}:{resident_id}")


def delivery_key(cause_event_id: UUID, resident_id: UUID, channel: str) -> str:
    """The idempotency key a provider is given: (event, resident, channel). A resend after a crash carries it."""
    return str(uuid5(_NOTIFIER, f"delivery:{cause_event_id}:{resident_id}:{channel}"))


def staff_message_id(cause_event_id: UUID, staff_id: UUID) -> UUID:
    """One e-mail per (event, staff member); also its Message-ID, so a resend after a crash is recognisable."""
    return uuid5(_NOTIFIER, f"staff:{cause_event_id}:{staff_id}")
