"""`civicloop-intake staff ...` as the operator runs it (a process of its own, on the test's database and topics,
beside a running intake that folds the staff events): each change an event whose actor names the operator; the
demo agent's printed instructions sign in."""

from __future__ import annotations

import asyncio
import re
from uuid import UUID

import pyotp
import pytest
from civicloop_intake import database
from civicloop_intake.service_layer.staff_seed import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, DEMO_TOTP_SECRET
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing.polling import eventually
from civicloop_testing.processes import ROOT, script
from civicloop_testing.run_settings import cli_env
from staff_harness import StaffHarness, staff_intake

pytestmark = pytest.mark.integration


async def staff_cli(h: StaffHarness, *args: str, stdin: str = "") -> str:
    proc = await asyncio.create_subprocess_exec(
        script("civicloop-intake"),
        "staff",
        *args,
        env=cli_env(h.settings, PATH="/usr/bin:/bin"),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=120)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_the_operator_creates_and_disables_an_account(migrated_dsn, kafka_bootstrap, fresh_topics):
    async with staff_intake(migrated_dsn, kafka_bootstrap, fresh_topics) as h:
        email, password = h.email("crew.lead"), "a passphrase typed on the host"
        out = await staff_cli(
            h,
            "create",
            email,
            "--role",
            "supervisor",
            "--jurisdiction",
            "demo",
            "--password-stdin",
            "--operator",
            "alice",
            stdin=password + "\n",
        )
        staff_id = out.strip().splitlines()[-1]
        await h.folded(UUID(staff_id))
        first = await h.sign_in(email, password)
        assert first.json()["status"] == "totp_enrolment_needed"

        assert "changed" in await staff_cli(
            h, "disable", staff_id, "--reason", "suspended", "--operator", "alice"
        )
        events = [e for e in await h.config_events() if str(getattr(e.payload, "staff_id", "")) == staff_id]
        assert [(e.type, e.actor.id, e.source) for e in events] == [
            ("staff.created", "staff-cli:alice", "admin"),
            ("staff.password.set", "staff-cli:alice", "admin"),
            ("staff.disabled", "staff-cli:alice", "admin"),
        ]


async def test_the_demo_agent_signs_in_as_printed(migrated_dsn, kafka_bootstrap, fresh_topics):
    # Signing in is polled until the account is folded: no per-client sign-in limit to run into meanwhile.
    async with staff_intake(
        migrated_dsn, kafka_bootstrap, fresh_topics, staff_sign_in_rate_limit_per_client=""
    ) as h:
        printed = await staff_cli(h, "seed-demo")
        assert (
            DEMO_AGENT_EMAIL in printed
            and DEMO_TOTP_SECRET in printed
            and "/api/v1/staff/auth/sign-in" in printed
        )
        assert re.search(r"Authorization: Bearer", printed)

        async def signed_in() -> dict[str, str] | None:
            answer = await h.sign_in(
                DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, pyotp.TOTP(DEMO_TOTP_SECRET).now()
            )
            return answer.json() if answer.status_code == 200 else None

        token = (await eventually(signed_in, what="the demo agent folded and signed in"))["access_token"]
        me = (await h.client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {token}"})).json()
        assert me["roles"] == ["agent", "supervisor", "admin"]
        created = [e for e in await h.config_events() if e.type == "staff.created"]
        assert DEMO_AGENT_EMAIL in await staff_cli(h, "seed-demo")  # a second run prints, and creates nothing
        assert [e for e in await h.config_events() if e.type == "staff.created"] == created


async def test_the_demo_agent_of_a_run_directory_has_secrets_of_its_own(
    fresh_database_dsn, kafka_bootstrap, fresh_topics, tmp_path
):
    # A database of its own: the session's already holds the demo agent another test seeded.
    database.migrate(IntakeSettings(env=Environment.test, pg_dsn=fresh_database_dsn).sqlalchemy_url)
    async with staff_intake(
        fresh_database_dsn, kafka_bootstrap, fresh_topics, staff_sign_in_rate_limit_per_client=""
    ) as h:
        run_secrets = tmp_path / "run" / "secrets"
        printed = await staff_cli(h, "seed-demo", "--secrets-dir", str(run_secrets))
        password = (run_secrets / "demo-agent-password").read_text().strip()
        totp_secret = (run_secrets / "demo-agent-totp-secret").read_text().strip()
        assert {password, totp_secret}.isdisjoint({DEMO_AGENT_PASSWORD, DEMO_TOTP_SECRET})
        assert {
            (run_secrets / name).stat().st_mode & 0o777
            for name in ("demo-agent-password", "demo-agent-totp-secret")
        } == {0o600}
        assert password in printed and totp_secret in printed and "exists already" not in printed
        assert DEMO_AGENT_PASSWORD not in printed and DEMO_TOTP_SECRET not in printed

        async def signed_in() -> dict[str, str] | None:
            answer = await h.sign_in(DEMO_AGENT_EMAIL, password, pyotp.TOTP(totp_secret).now())
            return answer.json() if answer.status_code == 200 else None

        assert (
            await eventually(signed_in, what="the demo agent signed in with its run directory's secrets")
        )["access_token"]
        created = [e for e in await h.config_events() if e.type == "staff.created"]
        # The demo jurisdiction's SLA too (this database had none): Los Angeles' business hours, by the CLI.
        slas = [e for e in await h.config_events() if e.type == "jurisdiction.sla.defined"]
        assert [(e.jurisdiction_id, e.actor.kind.value, e.payload.time_zone) for e in slas] == [
            ("demo", "system", "America/Los_Angeles")
        ]
        assert "The SLA of demo (defined now)" in printed
        sla = h.staff.sla
        assert sla is not None
        await eventually(lambda: sla.current("demo"), what="the demo SLA folded")
        # The same run directory again: the same secrets, nothing created.
        again = await staff_cli(h, "seed-demo", "--secrets-dir", str(run_secrets))
        assert password in again and "exists already" not in again
        assert "The SLA of demo (kept as it was)" in again
        # Another run directory on the same database: told the account exists, and nothing created either.
        other = await staff_cli(h, "seed-demo", "--secrets-dir", str(tmp_path / "other" / "secrets"))
        assert "exists already" in other and password not in other
        assert [e for e in await h.config_events() if e.type == "staff.created"] == created
        assert [e for e in await h.config_events() if e.type == "jurisdiction.sla.defined"] == slas
