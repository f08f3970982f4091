"""When a failed send is tried again: exponential back-off with full jitter, or when the provider said."""

from __future__ import annotations

from datetime import datetime, timedelta


def retry_at(
    now: datetime,
    *,
    attempt: int,
    initial_s: float,
    max_s: float,
    rand: float,
    retry_after_s: float | None = None,
) -> datetime:
    """After failed attempt number `attempt` (1 = the first): a delay drawn in [base/2, base] with
    base = initial * 2^(attempt-1) capped at `max_s`; never sooner than the provider's `Retry-After`."""
    base = min(max_s, initial_s * 2 ** max(0, attempt - 1))
    delay = base / 2 + (base / 2) * rand
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max_s))
    return now + timedelta(seconds=delay)
