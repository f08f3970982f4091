"""Lockout after repeated sign-in failures: a pure policy over one account's failure record.

`max_failures` wrong passwords (or codes) within `window` lock the account for `lock_for`; each further lockout
before a success doubles it, up to `max_lock`. A success clears the record. While locked, every attempt is
refused without checking the password, and the answer is the same as for a wrong password, so a guesser learns
neither the password nor that the account exists; the staff member is told by the sign-in page to wait or reset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)
    max_lock: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.lock_for <= timedelta(0) or self.max_lock < self.lock_for:
            raise ValueError("a lockout needs at least one failure and a lock no longer than its maximum")


@dataclass(frozen=True)
class FailureRecord:
    """One account's recent failures, as the store keeps them. `FailureRecord()` is an account with none."""

    failures: int = 0  # within the current window
    window_started_at: datetime | None = None
    locked_until: datetime | None = None
    lockouts: int = 0  # locks since the last success: each one lasts twice the one before


def is_locked(record: FailureRecord, now: datetime) -> bool:
    return record.locked_until is not None and now < record.locked_until


def after_failure(policy: LockoutPolicy, record: FailureRecord, now: datetime) -> FailureRecord:
    """The record after a wrong password or code (an attempt while locked changes nothing)."""
    if is_locked(record, now):
        return record
    in_window = record.window_started_at is not None and now - record.window_started_at < policy.window
    failures = record.failures + 1 if in_window else 1
    started = record.window_started_at if in_window else now
    if failures < policy.max_failures:
        return replace(record, failures=failures, window_started_at=started)
    lock = min(policy.lock_for * (2**record.lockouts), policy.max_lock)
    return FailureRecord(
        failures=0, window_started_at=None, locked_until=now + lock, lockouts=record.lockouts + 1
    )


def after_success(record: FailureRecord) -> FailureRecord:
    return FailureRecord()
