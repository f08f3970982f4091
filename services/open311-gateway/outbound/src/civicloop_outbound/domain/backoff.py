"""When to try a failed send again: exponential back-off with jitter, capped; None once attempts are used up."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta


def retry_delay_s(
    attempt: int, *, initial_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay after failed attempt `attempt` (1-based): initial * 2^(attempt-1), capped, then scaled by [0.5, 1.0).

    Half the delay is fixed and half random ("equal jitter"): many items failing together against one back-end spread
    out, and no retry comes sooner than half its step.
    """
    step = min(max_s, initial_s * 2 ** max(0, attempt - 1))
    return step * (0.5 + rand() / 2)


def next_attempt_at(
    attempt: int,
    *,
    now: datetime,
    max_attempts: int,
    initial_s: float,
    max_s: float,
    rand: Callable[[], float] = random.random,
) -> datetime | None:
    if attempt >= max_attempts:
        return None
    return now + timedelta(seconds=retry_delay_s(attempt, initial_s=initial_s, max_s=max_s, rand=rand))
