"""Intake's pure staff parts: the keyed email digest, the actor of a change, the account as sign-in sees it."""

from __future__ import annotations

from uuid import uuid4

from civicloop_events.payloads.staff import DisableReason, StaffEnabled
from civicloop_intake.domain.staff import (
    SOURCE_API,
    SOURCE_CLI,
    StaffLogin,
    actor_of,
    email_digest,
    staff_event,
)
from civicloop_staff.accounts import StaffAccount
from civicloop_staff.roles import Role, StaffPrincipal

PEPPER = b"a pepper of sixteen bytes or more"


def test_the_email_digest_is_keyed_and_ignores_case_and_spaces():
    assert email_digest(PEPPER, " Agent.One@Demo.Example ") == email_digest(PEPPER, "agent.one@demo.example")
    assert email_digest(PEPPER, "agent.one@demo.example") != email_digest(PEPPER, "agent.two@demo.example")
    assert email_digest(PEPPER, "agent.one@demo.example") != email_digest(
        PEPPER * 2, "agent.one@demo.example"
    )
    assert b"agent" not in email_digest(PEPPER, "agent.one@demo.example")


def test_a_change_by_an_admin_or_by_the_cli_names_who_made_it():
    admin = StaffPrincipal(uuid4(), "demo", frozenset({Role.admin}), frozenset(), "session")
    actor, source = actor_of(admin, "alice")
    assert (actor.kind.value, actor.id, source) == ("agent", str(admin.staff_id), SOURCE_API)
    actor, source = actor_of(None, "alice")
    assert (actor.kind.value, actor.id, source) == ("system", "staff-cli:alice", SOURCE_CLI)


def test_a_staff_event_is_keyed_by_its_jurisdiction():
    actor, source = actor_of(None, "alice")
    event = staff_event(StaffEnabled(staff_id=uuid4()), jurisdiction_id="demo", actor=actor, source=source)
    assert event.request_id is None and event.key == b"demo" and event.type == "staff.enabled"


def test_sign_in_sees_the_log_s_account_with_the_store_s_credentials():
    staff_id = uuid4()
    folded = StaffAccount(staff_id, (Role.agent,), ("streets",), DisableReason.left)
    login = StaffLogin(staff_id, "demo", folded, password_hash="$argon2id$...", totp_secret="SECRET")
    assert login.as_account() == StaffAccount(
        staff_id, (Role.agent,), ("streets",), DisableReason.left, has_password=True, totp_enrolled=True
    )
    assert StaffLogin(staff_id, "demo", None).as_account() is None  # created, not folded yet
    assert "SECRET" not in repr(login) and "argon2" not in repr(login)
