"""Accounts made by the operator with their credentials at once: the first admin of a jurisdiction, and the demo
agent `make run` prints how to sign in as. Every step is an event with the operator's CLI as its actor."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

import anyio.to_thread
from civicloop_events.payloads.staff import PasswordSetVia, StaffPasswordSet, StaffTotpEnrolled
from civicloop_staff.one_time_secrets import digest
from civicloop_staff.passwords import hash_password, password_problems
from civicloop_staff.roles import Role
from civicloop_staff.totp import time_step

from civicloop_intake.domain.staff import SOURCE_CLI, cli_actor, email_digest, staff_event
from civicloop_intake.service_layer.staff_management import StaffAdmin
from civicloop_intake.service_layer.staff_ports import EmailTaken, PendingTotp
from civicloop_intake.service_layer.staff_publishing import publish_change
from civicloop_intake.service_layer.staff_reset import PasswordRefused

DEMO_AGENT_EMAIL = "agent@demo.civicloop.example"
DEMO_AGENT_PASSWORD = "demo password, never for production"  # noqa: S105 - printed for `make run`
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - the demo's, printed for `make run`


async def seed_staff(
    admin: StaffAdmin,
    *,
    email: str,
    roles: Iterable[Role | str],
    jurisdiction_id: str,
    name: str | None = None,
    teams: Iterable[str] = (),
    password: str | None = None,
    totp_secret: str | None = None,
    now: datetime,
) -> UUID:
    """An account created by the operator (`staff.created`), with a first password (`staff.password.set`) and a
    TOTP secret already enrolled (`staff.totp.enrolled`) when given."""
    if password is not None and (problems := password_problems(password, email=email)):
        raise PasswordRefused(problems)
    staff_id = await admin.create(
        email=email, name=name, roles=roles, teams=teams, jurisdiction_id=jurisdiction_id, by=None
    )
    actor = cli_actor(admin.operator)
    if password is not None:
        password_hash = await anyio.to_thread.run_sync(hash_password, password)
        event = staff_event(
            StaffPasswordSet(staff_id=staff_id, via=PasswordSetVia.enrolment),
            jurisdiction_id=jurisdiction_id,
            actor=actor,
            source=SOURCE_CLI,
        )
        await admin.store.set_password(staff_id, password_hash, at=now, event=event)
        await publish_change(admin.store, admin.config_log, event.event_id, what="staff password set")
    if totp_secret is not None:
        ticket = digest(secrets.token_urlsafe(32))
        pending = PendingTotp(staff_id, totp_secret, (), now + timedelta(minutes=1))
        await admin.store.start_totp(ticket, pending)
        event = staff_event(
            StaffTotpEnrolled(staff_id=staff_id, recovery_codes_issued=0),
            jurisdiction_id=jurisdiction_id,
            actor=actor,
            source=SOURCE_CLI,
        )
        # The step before the previous one as "last used": the app's current code works at once.
        await admin.store.enrol_totp(ticket, pending, step=time_step(now) - 2, event=event)
        await publish_change(admin.store, admin.config_log, event.event_id, what="staff TOTP enrolled")
    return staff_id


def new_demo_password() -> str:
    """A demo agent password of its own for one run directory: 128 random bits, as four words of hex."""
    return " ".join(secrets.token_hex(4) for _ in range(4))


def demo_sign_in_instructions(
    base_url: str, *, password: str = DEMO_AGENT_PASSWORD, totp_secret: str = DEMO_TOTP_SECRET
) -> str:
    """How to sign in as the demo agent, as shell lines that leave its access token in `$TOKEN`."""
    code = f"uv run python -c 'import pyotp; print(pyotp.TOTP(\"{totp_secret}\").now())'"
    json_field = "python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])'"
    return "\n".join(
        [
            f"Demo agent: {DEMO_AGENT_EMAIL} / {password!r}, TOTP secret {totp_secret}",
            "Sign in (the code changes every 30 s; a token lasts 15 minutes) and keep the token in $TOKEN:",
            f"  TOKEN=$(curl -s {base_url}/api/v1/staff/auth/sign-in -H 'Content-Type: application/json' \\",
            f'    -d \'{{"email": "{DEMO_AGENT_EMAIL}", "password": "{password}", "code": "\'$({code})\'"}}\' \\',
            f"    | {json_field})",
            "then send it as `Authorization: Bearer $TOKEN`.",
        ]
    )


async def seed_demo_agent(
    admin: StaffAdmin,
    *,
    jurisdiction_id: str,
    now: datetime,
    password: str = DEMO_AGENT_PASSWORD,
    totp_secret: str = DEMO_TOTP_SECRET,
) -> UUID | None:
    """The demo agent (agent, supervisor and the demo county's admin, so one account shows the console and the admin
    pages; password and TOTP set), for `make run`; None when it exists already
    (its credentials are then those it was created with). Never for production: its password and TOTP secret are
    printed. `make run` passes ones generated for its run directory; the fixed ones serve a bare `seed-demo`."""
    if await admin.store.login_by_email(email_digest(admin.pepper, DEMO_AGENT_EMAIL)) is not None:
        return None
    try:
        return await seed_staff(
            admin,
            email=DEMO_AGENT_EMAIL,
            name="Demo Agent",
            roles=(Role.agent, Role.supervisor, Role.admin),
            jurisdiction_id=jurisdiction_id,
            password=password,
            totp_secret=totp_secret,
            now=now,
        )
    except EmailTaken:
        return None
