"""What a provider's delivery receipt means for the attempt it names and for the message. Pure.

Receipts arrive in any order and more than once (Twilio retries): a state never moves back (a late `sent` does not
undo `delivered`), and a final failure of an accepted text counts as that channel refusing the message: the next
channel of the resident's plan is tried, once (the failed channel joins the ones tried).
"""

from __future__ import annotations

from collections.abc import Collection

_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
}
NOT_REACHED = frozenset({"undelivered", "failed"})


def moves_forward(current: str | None, new: str) -> bool:
    """Whether `new` replaces `current` on the attempt (a repeat or a step back changes nothing)."""
    if current is None:
        return True
    if current in NOT_REACHED or current in ("delivered", "read", "canceled"):
        return new == "read" and current == "delivered"
    return _RANK.get(new, 0) > _RANK.get(current, 0)


def falls_back(
    *,
    state: str,
    attempt_outcome: str,
    attempt_channel: str,
    message_state: str,
    message_channel: str | None,
    tried: Collection[str],
) -> bool:
    """Whether this receipt sends the message on to the next channel: a text the provider had accepted never reached
    the resident, the message still stands as sent on that channel, and that channel has not been left already."""
    return (
        state in NOT_REACHED
        and attempt_outcome == "accepted"
        and message_state == "sent"
        and message_channel == attempt_channel
        and attempt_channel not in tried
    )
