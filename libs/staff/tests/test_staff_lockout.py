"""The lockout policy: repeated failures lock, locks grow, a success clears."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_staff.lockout import FailureRecord, LockoutPolicy, after_failure, after_success, is_locked

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
POLICY = LockoutPolicy(
    max_failures=3,
    window=timedelta(minutes=10),
    lock_for=timedelta(minutes=5),
    max_lock=timedelta(minutes=12),
)


def fail(record: FailureRecord, times: int, at: datetime, every: timedelta = timedelta(seconds=1)):
    for i in range(times):
        record = after_failure(POLICY, record, at + i * every)
    return record


def test_the_last_allowed_failure_locks_for_lock_for():
    two = fail(FailureRecord(), 2, NOW)
    assert not is_locked(two, NOW + timedelta(seconds=2))
    three = after_failure(POLICY, two, NOW + timedelta(seconds=2))
    assert is_locked(three, NOW + timedelta(seconds=2))
    assert three.locked_until == NOW + timedelta(seconds=2) + POLICY.lock_for
    assert not is_locked(three, three.locked_until)


def test_failures_spread_beyond_the_window_never_lock():
    record = fail(FailureRecord(), 10, NOW, every=POLICY.window)
    assert record.locked_until is None and record.failures == 1


def test_attempts_while_locked_change_nothing():
    locked = fail(FailureRecord(), 3, NOW)
    assert after_failure(POLICY, locked, NOW + timedelta(minutes=1)) == locked


def test_each_lock_before_a_success_doubles_up_to_the_maximum():
    record, at, locks = FailureRecord(), NOW, []
    for _ in range(3):
        record = fail(record, 3, at)
        locks.append(record.locked_until - (at + timedelta(seconds=2)))
        at = record.locked_until
    assert locks == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=12)]


def test_a_success_clears_everything():
    assert after_success(fail(FailureRecord(), 3, NOW)) == FailureRecord()


def test_a_policy_that_could_never_lock_is_refused():
    with pytest.raises(ValueError, match="lockout"):
        LockoutPolicy(max_failures=0)


def test_a_guesser_trying_every_second_for_a_day_gets_few_checks():
    """The figure the policy is for: with the defaults, how many passwords one account lets a guesser try a day."""
    policy, record, checked = LockoutPolicy(), FailureRecord(), 0
    for second in range(24 * 3600):
        at = NOW + timedelta(seconds=second)
        if not is_locked(record, at):
            checked += 1
        record = after_failure(policy, record, at)
    # 5 before each lock; locks of 15, 30, 60, 120, 240, 480 and 960 minutes: the 7th outlasts the day.
    assert checked == 5 * 7
