"""What a delivery receipt does (pure): states only move forward; an accepted text that never arrived falls back,
once."""

from __future__ import annotations

import pytest
from civicloop_notifier.domain.delivery import falls_back, moves_forward


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        (None, "sent", True),
        ("sent", "delivered", True),
        ("delivered", "sent", False),  # a late `sent` does not undo delivery
        ("delivered", "delivered", False),  # a retried callback
        ("delivered", "read", True),  # WhatsApp
        ("sent", "undelivered", True),
        ("undelivered", "delivered", False),
        ("failed", "failed", False),
        ("queued", "sending", True),
    ],
)
def test_states_move_forward_only(current, new, moves):
    assert moves_forward(current, new) is moves


def _falls_back(**overrides):
    facts = {
        "state": "undelivered",
        "attempt_outcome": "accepted",
        "attempt_channel": "sms",
        "message_state": "sent",
        "message_channel": "sms",
        "tried": (),
    }
    return falls_back(**{**facts, **overrides})


def test_an_undelivered_or_failed_accepted_text_falls_back():
    assert _falls_back()
    assert _falls_back(state="failed")


@pytest.mark.parametrize(
    "overrides",
    [
        {"state": "delivered"},
        {"state": "sent"},
        {"attempt_outcome": "refused"},  # a refusal already moved on when it was answered
        {"message_state": "pending"},  # moved on already (a receipt applied before)
        {"message_channel": "email"},  # the message went out on another channel since
        {"tried": ("sms",)},  # this channel was left already: once
    ],
)
def test_nothing_else_falls_back(overrides):
    assert not _falls_back(**overrides)
