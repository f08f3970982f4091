"""The sign-in handler over an in-memory store: every refusal alike and each one costs a password check; the lockout
counted in the store; TOTP codes not replayed; recovery codes once; the token's claims from the folded account."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pyotp
import pytest
from civicloop_events.payloads.staff import DisableReason
from civicloop_intake.domain.staff import StaffLogin, email_digest
from civicloop_intake.service_layer import staff_sign_in
from civicloop_intake.service_layer.staff_ports import StaffStore
from civicloop_intake.service_layer.staff_sign_in import SignInContext, SignInRefused, sign_in
from civicloop_staff.accounts import StaffAccount
from civicloop_staff.lockout import FailureRecord, LockoutPolicy
from civicloop_staff.one_time_secrets import new_recovery_codes, recovery_code_digest
from civicloop_staff.passwords import PasswordCheck
from civicloop_staff.roles import Role
from civicloop_staff.sign_in import Outcome
from civicloop_staff.tokens import StaffTokenIssuer, StaffTokenVerifier, new_signing_key

PEPPER = b"a pepper of sixteen bytes or more"
EMAIL, PASSWORD = "agent@demo.example", "the right password"
NOW = datetime.now(UTC)  # the token is verified against the clock


class MemoryStaffStore(StaffStore):
    """Only what signing in reads and writes; the rest is not called here."""

    def __init__(self, login: StaffLogin) -> None:
        self.logins = {login.staff_id: login}
        self.by_email = {email_digest(PEPPER, EMAIL): login.staff_id}

    async def login_by_email(self, digest: bytes) -> StaffLogin | None:
        staff_id = self.by_email.get(digest)
        return self.logins[staff_id] if staff_id else None

    async def login(self, staff_id: UUID) -> StaffLogin | None:
        return self.logins.get(staff_id)

    async def record_attempt(
        self, staff_id: UUID, failures: FailureRecord, *, rehashed: str | None = None
    ) -> None:
        self.logins[staff_id] = dataclasses.replace(self.logins[staff_id], failures=failures)

    async def spend_totp_step(self, staff_id: UUID, step: int) -> bool:
        login = self.logins[staff_id]
        if login.totp_last_step is not None and login.totp_last_step >= step:
            return False
        self.logins[staff_id] = dataclasses.replace(login, totp_last_step=step)
        return True

    async def spend_recovery_code(self, staff_id: UUID, before: tuple[str, ...], after: list[str]) -> bool:
        self.logins[staff_id] = dataclasses.replace(self.logins[staff_id], recovery_digests=tuple(after))
        return True


# The rest of the port is None (calling it would fail): signing in never does.
for _name in list(StaffStore.__abstractmethods__):
    if _name not in MemoryStaffStore.__dict__:
        setattr(MemoryStaffStore, _name, None)
MemoryStaffStore.__abstractmethods__ = frozenset()


@pytest.fixture
def checks(monkeypatch):
    """The argon2 check replaced by its meaning (the right password against a stored hash), counted."""
    seen: list[str | None] = []

    def check(stored: str | None, candidate: str) -> PasswordCheck:
        seen.append(stored)
        return PasswordCheck(ok=stored == "hash-of-right" and candidate == PASSWORD)

    monkeypatch.setattr(staff_sign_in, "check_password", check)
    return seen


def context(
    login: StaffLogin, **policy: object
) -> tuple[SignInContext, MemoryStaffStore, StaffTokenVerifier]:
    private, public = new_signing_key("test")
    store = MemoryStaffStore(login)
    ctx = SignInContext(store, None, StaffTokenIssuer(private), LockoutPolicy(**policy), PEPPER, "CivicLoop")  # type: ignore[arg-type]
    return ctx, store, StaffTokenVerifier(public)


def agent(**changes: object) -> StaffLogin:
    staff_id = uuid4()
    login = StaffLogin(
        staff_id,
        "demo",
        StaffAccount(staff_id, (Role.agent,), ("streets",)),
        password_hash="hash-of-right",
        totp_secret=pyotp.random_base32(),
    )
    return dataclasses.replace(login, **changes)


async def test_every_refusal_is_alike_and_costs_a_password_check(checks):
    disabled = agent()
    disabled = dataclasses.replace(
        disabled, account=dataclasses.replace(disabled.account, disabled=DisableReason.left)
    )
    locked = agent(failures=FailureRecord(locked_until=NOW + timedelta(minutes=5), lockouts=1))
    for login, email, password in [
        (agent(), "nobody@demo.example", PASSWORD),
        (agent(), EMAIL, "a wrong password"),
        (disabled, EMAIL, PASSWORD),
        (locked, EMAIL, PASSWORD),
    ]:
        ctx, _, _ = context(login)
        with pytest.raises(SignInRefused):
            await sign_in(ctx, email=email, password=password, code=None, now=NOW)
    assert len(checks) == 4
    assert checks[3] is None  # locked: the hash is not even tried, at the same cost


async def test_failures_lock_the_account_in_the_store(checks):
    ctx, store, _ = context(agent(), max_failures=3)
    for _ in range(3):
        with pytest.raises(SignInRefused):
            await sign_in(ctx, email=EMAIL, password="a wrong password", code=None, now=NOW)
    login = next(iter(store.logins.values()))
    assert login.failures.locked_until == NOW + timedelta(minutes=15)
    with pytest.raises(SignInRefused):
        await sign_in(
            ctx, email=EMAIL, password=PASSWORD, code=pyotp.TOTP(login.totp_secret).at(NOW), now=NOW
        )


async def test_a_code_signs_in_once_and_the_token_is_the_folded_account_s(checks):
    login = agent()
    ctx, _, verifier = context(login)
    first = await sign_in(ctx, email=EMAIL, password=PASSWORD, code=None, now=NOW)
    assert first.outcome is Outcome.second_factor_needed and first.token is None
    code = pyotp.TOTP(login.totp_secret).at(NOW)
    answer = await sign_in(ctx, email=EMAIL, password=PASSWORD, code=code, now=NOW)
    assert answer.token is not None
    principal = verifier.verify(answer.token.access_token)
    assert (principal.staff_id, principal.roles, principal.teams) == (
        login.staff_id,
        frozenset({Role.agent}),
        frozenset({"streets"}),
    )
    assert principal.methods == ("pwd", "otp")
    with pytest.raises(SignInRefused):  # the same code again: a replay
        await sign_in(ctx, email=EMAIL, password=PASSWORD, code=code, now=NOW + timedelta(seconds=5))


async def test_a_recovery_code_works_once(checks):
    codes = new_recovery_codes(2)
    ctx, _, _ = context(agent(recovery_digests=tuple(recovery_code_digest(c) for c in codes)))
    answer = await sign_in(ctx, email=EMAIL, password=PASSWORD, code=codes[0], now=NOW)
    assert answer.outcome is Outcome.signed_in
    with pytest.raises(SignInRefused):
        await sign_in(ctx, email=EMAIL, password=PASSWORD, code=codes[0], now=NOW)
    assert (await sign_in(ctx, email=EMAIL, password=PASSWORD, code=codes[1], now=NOW)).token is not None
