"""Account rules, the fold of staff events, and the sign-in step."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events.payloads import (
    DisableReason,
    PasswordSetVia,
    StaffEnabled,
    StaffPasswordSet,
    StaffRolesChanged,
    StaffTotpEnrolled,
)
from civicloop_events.personal_data import PersonalData, new_key, seal
from civicloop_staff.accounts import (
    StaffAccount,
    StaffChangeRejected,
    StaffProblem,
    change_roles,
    change_teams,
    create_account,
    disable,
    enable,
    fold,
)
from civicloop_staff.lockout import FailureRecord, LockoutPolicy
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.sign_in import Outcome, RefusalReason, sign_in_step

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
TEAMS = {"streets", "parks"}
STAFF = uuid.uuid4()


def principal(*roles: Role, staff_id: uuid.UUID | None = None) -> StaffPrincipal:
    return StaffPrincipal(staff_id or uuid.uuid4(), "demo", frozenset(roles), frozenset(), "s1")


ADMIN = principal(Role.admin)


def created(roles=("agent",), teams=("streets",)):
    contact = seal(PersonalData(email="agent.one@demo.example"), resident_id=STAFF, key=new_key())
    return create_account(
        staff_id=STAFF, contact=contact, roles=roles, teams=teams, known_teams=TEAMS, by=ADMIN
    )


def account(**changes) -> StaffAccount:
    base = fold(None, created())
    assert base is not None
    return StaffAccount(**{**base.__dict__, **changes})


def test_created_account_has_distinct_roles_in_one_order_and_known_teams():
    event = created(roles=("supervisor", "agent", "agent"), teams=("streets", "parks"))
    assert event.roles == [Role.agent, Role.supervisor] and event.teams == ["parks", "streets"]
    with pytest.raises(StaffChangeRejected) as no_role:
        created(roles=())
    assert no_role.value.problem is StaffProblem.no_role
    with pytest.raises(StaffChangeRejected) as unknown:
        created(teams=("roads",))
    assert unknown.value.problem is StaffProblem.unknown_team


def test_only_admins_or_the_cli_manage_staff():
    for by in (principal(Role.agent), principal(Role.supervisor), principal(Role.auditor)):
        with pytest.raises(StaffChangeRejected) as refused:
            change_roles(account(), ["admin"], by=by)
        assert refused.value.problem is StaffProblem.not_allowed
    assert change_roles(account(), ["agent", "admin"], by=None) is not None


def test_role_change_says_what_was_before_and_nothing_when_nothing_changes():
    event = change_roles(account(), ["supervisor", "agent"], by=ADMIN)
    assert event == StaffRolesChanged(
        staff_id=STAFF, roles=[Role.agent, Role.supervisor], previous_roles=[Role.agent]
    )
    assert change_roles(account(), ["agent"], by=ADMIN) is None


def test_an_admin_cannot_lock_themselves_out():
    me = principal(Role.admin, staff_id=STAFF)
    with pytest.raises(StaffChangeRejected) as own_role:
        change_roles(account(roles=(Role.admin,)), ["agent"], by=me)
    assert own_role.value.problem is StaffProblem.own_admin_role
    with pytest.raises(StaffChangeRejected) as own_account:
        disable(account(roles=(Role.admin,)), DisableReason.left, by=me)
    assert own_account.value.problem is StaffProblem.own_account


def test_teams_disable_and_enable_are_events_only_when_they_change_something():
    assert change_teams(account(), ["parks"], known_teams=TEAMS, by=ADMIN).previous_teams == ["streets"]
    assert change_teams(account(), ["streets"], known_teams=TEAMS, by=ADMIN) is None
    assert enable(account(), by=ADMIN) is None
    off = disable(account(), DisableReason.compromised, by=ADMIN)
    assert (
        off is not None
        and disable(account(disabled=DisableReason.left), DisableReason.left, by=ADMIN) is None
    )
    assert enable(account(disabled=DisableReason.left), by=ADMIN) == StaffEnabled(staff_id=STAFF)


def test_fold_follows_the_log_and_ignores_other_accounts():
    state = fold(None, created())
    for payload in (
        change_roles(state, ["agent", "supervisor"], by=ADMIN),
        disable(state, DisableReason.suspended, by=ADMIN),
        StaffPasswordSet(staff_id=STAFF, via=PasswordSetVia.enrolment),
        StaffTotpEnrolled(staff_id=STAFF, recovery_codes_issued=10),
        StaffEnabled(staff_id=uuid.uuid4()),  # someone else's
    ):
        state = fold(state, payload)
    assert state == StaffAccount(
        STAFF, (Role.agent, Role.supervisor), ("streets",), DisableReason.suspended, True, True
    )


POLICY = LockoutPolicy(max_failures=2)
NO_FAILURES = FailureRecord()


def step(acct, failures=NO_FAILURES, *, password_ok=True, code_ok=None, now=NOW):
    return sign_in_step(
        acct, failures, password_ok=password_ok, second_factor_ok=code_ok, now=now, policy=POLICY
    )


def test_sign_in_needs_password_then_code():
    enrolled = account(totp_enrolled=True, has_password=True)
    assert step(enrolled).outcome is Outcome.second_factor_needed
    assert step(enrolled, code_ok=True).outcome is Outcome.signed_in
    assert step(account(has_password=True)).outcome is Outcome.totp_enrolment_needed


def test_every_refusal_looks_the_same_and_wrong_guesses_lock():
    enrolled = account(totp_enrolled=True, has_password=True)
    first = step(enrolled, password_ok=False)
    second = step(enrolled, first.failures, code_ok=False, now=NOW + timedelta(seconds=1))
    assert (first.outcome, second.outcome) == (Outcome.refused, Outcome.refused)
    assert second.reason is RefusalReason.wrong_second_factor
    locked = step(enrolled, second.failures, code_ok=True, now=NOW + timedelta(seconds=2))
    assert (locked.outcome, locked.reason) == (Outcome.refused, RefusalReason.locked)
    assert step(None).reason is RefusalReason.unknown_account
    disabled = step(account(disabled=DisableReason.left, totp_enrolled=True), code_ok=True)
    assert (disabled.outcome, disabled.reason) == (Outcome.refused, RefusalReason.disabled)
    assert (
        step(enrolled, second.failures, code_ok=True, now=NOW + timedelta(hours=1)).outcome
        is Outcome.signed_in
    )
