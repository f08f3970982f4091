"""Signing in with a password and a TOTP code, pure: what one attempt leads to, given what the store found.

Every refusal looks the same to the caller (`refused`); `reason` is for the logs and metrics only, so a guesser
cannot tell an unknown email from a wrong password, a locked account or a disabled one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from civicloop_staff.accounts import StaffAccount
from civicloop_staff.lockout import FailureRecord, LockoutPolicy, after_failure, after_success, is_locked


class Outcome(str, enum.Enum):
    signed_in = "signed_in"  # issue the access token
    second_factor_needed = "second_factor_needed"  # the password was right: ask for a TOTP or recovery code
    totp_enrolment_needed = "totp_enrolment_needed"  # right password, no TOTP yet: enrol before any token
    refused = "refused"


class RefusalReason(str, enum.Enum):
    unknown_account = "unknown_account"
    disabled = "disabled"
    locked = "locked"
    wrong_password = "wrong_password"  # noqa: S105 - a reason's name, not a password
    wrong_second_factor = "wrong_second_factor"


@dataclass(frozen=True)
class SignInStep:
    outcome: Outcome
    failures: FailureRecord  # what to store for the account (unchanged for an unknown one)
    reason: RefusalReason | None = None


def sign_in_step(
    account: StaffAccount | None,
    failures: FailureRecord,
    *,
    password_ok: bool,
    second_factor_ok: bool | None,
    now: datetime,
    policy: LockoutPolicy,
) -> SignInStep:
    """One attempt. `second_factor_ok` is None when no code came with it; the password is checked either way (by
    the caller, before this) so every attempt costs the same. A wrong code counts towards the lockout as a wrong
    password does: it is the same guessing."""
    if account is None:
        return SignInStep(Outcome.refused, failures, RefusalReason.unknown_account)
    if is_locked(failures, now):
        return SignInStep(Outcome.refused, failures, RefusalReason.locked)
    if not account.active:
        return SignInStep(Outcome.refused, failures, RefusalReason.disabled)
    if not password_ok:
        return SignInStep(Outcome.refused, after_failure(policy, failures, now), RefusalReason.wrong_password)
    if not account.totp_enrolled:
        return SignInStep(Outcome.totp_enrolment_needed, after_success(failures))
    if second_factor_ok is None:
        return SignInStep(Outcome.second_factor_needed, failures)
    if not second_factor_ok:
        return SignInStep(
            Outcome.refused, after_failure(policy, failures, now), RefusalReason.wrong_second_factor
        )
    return SignInStep(Outcome.signed_in, after_success(failures))
