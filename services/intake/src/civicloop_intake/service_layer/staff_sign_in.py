"""Signing in with an email and a password, then a TOTP code (or a recovery code); enrolling TOTP on the way.

The argon2 check costs ~0.3 s of CPU, so it runs in a worker thread; it runs for an unknown email too, so the
answer's time does not tell which emails have accounts. Every refusal is the same `SignInRefused` for the caller;
its reason goes to the log (with the opaque staff id at most, never the email).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio.to_thread
from civicloop_events.outbox import EventLog
from civicloop_events.payloads.staff import StaffTotpEnrolled
from civicloop_staff.lockout import FailureRecord, LockoutPolicy, after_failure, is_locked
from civicloop_staff.one_time_secrets import (
    digest,
    new_recovery_codes,
    recovery_code_digest,
    use_recovery_code,
)
from civicloop_staff.passwords import check_password
from civicloop_staff.sign_in import Outcome, sign_in_step
from civicloop_staff.tokens import StaffTokenIssuer
from civicloop_staff.totp import DIGITS, check_totp, enrolment_qr_svg, enrolment_uri, new_totp_secret

from civicloop_intake.domain.staff import SOURCE_SIGN_IN, StaffLogin, email_digest, self_actor, staff_event
from civicloop_intake.service_layer.staff_ports import PendingTotp, StaffStore
from civicloop_intake.service_layer.staff_publishing import publish_change

log = logging.getLogger("civicloop.intake.sign_in")

TOTP_ENROLMENT_TTL = timedelta(minutes=10)


class SignInRefused(Exception):
    """Unknown email, wrong password or code, locked, disabled: all answered alike (401)."""


@dataclass(frozen=True)
class AccessToken:
    access_token: str = field(repr=False)
    expires_in: int


@dataclass(frozen=True)
class TotpEnrolment:
    """Shown once, to the person who just proved their password: never stored as such, never logged."""

    ticket: str = field(repr=False)
    otpauth_uri: str = field(repr=False)
    qr_svg: str = field(repr=False)
    recovery_codes: tuple[str, ...] = field(repr=False)
    expires_in: int


@dataclass(frozen=True)
class SignInAnswer:
    outcome: Outcome  # signed_in, second_factor_needed or totp_enrolment_needed (a refusal raises)
    token: AccessToken | None = None
    enrolment: TotpEnrolment | None = None


@dataclass(frozen=True)
class SignInContext:
    store: StaffStore
    config_log: EventLog
    issuer: StaffTokenIssuer
    policy: LockoutPolicy
    pepper: bytes
    totp_issuer: str  # the name an authenticator app shows beside the code


def issue_token(
    ctx: SignInContext, login: StaffLogin, methods: tuple[str, ...], now: datetime
) -> AccessToken:
    if login.account is None:
        raise SignInRefused("account not folded yet")
    token = ctx.issuer.issue(
        staff_id=login.staff_id,
        jurisdiction_id=login.jurisdiction_id,
        roles=login.account.roles,
        teams=login.account.teams,
        methods=methods,
        now=now,
    )
    return AccessToken(token, int(ctx.issuer.ttl.total_seconds()))


async def _second_factor(ctx: SignInContext, login: StaffLogin, code: str, now: datetime) -> bool:
    """Whether `code` is a TOTP code of the account (never one already used) or one of its recovery codes, spent."""
    if login.totp_secret is None:
        return False
    plain = code.strip().replace(" ", "")
    if plain.isdigit() and len(plain) == DIGITS:  # a TOTP code; anything else may be a recovery code
        step = check_totp(login.totp_secret, plain, at=now, last_used_step=login.totp_last_step)
        return step is not None and await ctx.store.spend_totp_step(login.staff_id, step)
    left = use_recovery_code(login.recovery_digests, code)
    return left is not None and await ctx.store.spend_recovery_code(
        login.staff_id, login.recovery_digests, left
    )


async def sign_in(
    ctx: SignInContext, *, email: str, password: str, code: str | None, now: datetime
) -> SignInAnswer:
    login = await ctx.store.login_by_email(email_digest(ctx.pepper, email))
    account = login.as_account() if login else None
    locked = login is not None and is_locked(login.failures, now)
    stored = login.password_hash if login and not locked else None
    checked = await anyio.to_thread.run_sync(check_password, stored, password)  # off the event loop
    password_ok = checked.ok and account is not None and account.active
    second_ok: bool | None = None
    if code is not None and login is not None and password_ok:
        second_ok = await _second_factor(ctx, login, code, now)
    step = sign_in_step(
        account,
        login.failures if login else FailureRecord(),
        password_ok=checked.ok,
        second_factor_ok=second_ok,
        now=now,
        policy=ctx.policy,
    )
    if login is not None and (step.failures != login.failures or checked.rehashed):
        await ctx.store.record_attempt(login.staff_id, step.failures, rehashed=checked.rehashed)
    if step.outcome is Outcome.refused or login is None:
        log.info(
            "staff sign-in refused",
            extra={
                "reason": step.reason.value if step.reason else "refused",
                "staff_id": str(login.staff_id) if login else None,
            },
        )
        raise SignInRefused(step.reason.value if step.reason else "refused")
    if step.outcome is Outcome.signed_in:
        log.info("staff signed in", extra={"staff_id": str(login.staff_id), "methods": "pwd,otp"})
        return SignInAnswer(step.outcome, token=issue_token(ctx, login, ("pwd", "otp"), now))
    if step.outcome is Outcome.totp_enrolment_needed:
        return SignInAnswer(step.outcome, enrolment=await _start_enrolment(ctx, login, email, now))
    return SignInAnswer(step.outcome)


async def _start_enrolment(ctx: SignInContext, login: StaffLogin, email: str, now: datetime) -> TotpEnrolment:
    secret, codes, ticket = new_totp_secret(), new_recovery_codes(), secrets.token_urlsafe(32)
    pending = PendingTotp(
        login.staff_id, secret, tuple(recovery_code_digest(c) for c in codes), now + TOTP_ENROLMENT_TTL
    )
    await ctx.store.start_totp(digest(ticket), pending)
    uri = enrolment_uri(secret, account=email.strip(), issuer=ctx.totp_issuer)
    return TotpEnrolment(
        ticket, uri, enrolment_qr_svg(uri), tuple(codes), int(TOTP_ENROLMENT_TTL.total_seconds())
    )


async def confirm_totp(ctx: SignInContext, *, ticket: str, code: str, now: datetime) -> AccessToken:
    """The first code from the app proves the secret was read: TOTP takes effect, and the staff member is signed
    in. A wrong code counts towards the lockout like a wrong password."""
    ticket_digest = digest(ticket)
    pending = await ctx.store.pending_totp(ticket_digest, now=now)
    login = await ctx.store.login(pending.staff_id) if pending else None
    if pending is None or login is None or login.account is None or not login.account.active:
        raise SignInRefused("unknown enrolment")
    if is_locked(login.failures, now):
        raise SignInRefused("locked")
    step = check_totp(pending.secret, code, at=now, last_used_step=None)
    if step is None:
        await ctx.store.record_attempt(login.staff_id, after_failure(ctx.policy, login.failures, now))
        raise SignInRefused("wrong first code")
    event = staff_event(
        StaffTotpEnrolled(staff_id=login.staff_id, recovery_codes_issued=len(pending.recovery_digests)),
        jurisdiction_id=login.jurisdiction_id,
        actor=self_actor(login.staff_id),
        source=SOURCE_SIGN_IN,
    )
    if not await ctx.store.enrol_totp(ticket_digest, pending, step=step, event=event):
        raise SignInRefused("enrolment taken meanwhile")
    await publish_change(ctx.store, ctx.config_log, event.event_id, what="staff TOTP enrolled")
    log.info("staff enrolled TOTP and signed in", extra={"staff_id": str(login.staff_id)})
    return issue_token(ctx, login, ("pwd", "otp"), now)
