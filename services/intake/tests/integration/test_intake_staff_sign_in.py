"""Staff sign-in end to end on the real broker and database: an admin creates an agent, the agent sets a password
through the emailed link (SMTP on 127.0.0.1), enrols TOTP and signs in; recovery codes work once; lockout and a
disabled account answer like a wrong password; every change is an event on `jurisdiction.config` with the verified
admin (or the staff member, or the operator's CLI) as actor, and no credential or clear email on the log."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pyotp
import pytest
from civicloop_events.outbox import Sweeper
from civicloop_events.payloads.staff import StaffRolesChanged
from civicloop_intake.domain.staff import SOURCE_CLI, cli_actor, email_digest, staff_event
from civicloop_staff.roles import Role
from civicloop_testing.polling import eventually
from staff_harness import ADMIN_PASSWORD, ADMIN_TOTP, staff_intake

pytestmark = pytest.mark.integration

AGENT_PASSWORD = "a long and memorable passphrase"


async def test_an_admin_creates_an_agent_who_sets_a_password_enrols_totp_and_signs_in(
    migrated_dsn, kafka_bootstrap, fresh_topics
):
    async with staff_intake(
        migrated_dsn, kafka_bootstrap, fresh_topics, staff_sign_in_rate_limit_per_client="100/minute"
    ) as h:
        agent_email = h.email("Agent.One")
        admin = await h.admin_token()
        auth = {"Authorization": f"Bearer {admin}"}
        me = (await h.client.get("/api/v1/staff/me", headers=auth)).json()
        admin_id = me["staff_id"]
        assert me["roles"] == ["admin"] and me["methods"] == ["pwd", "otp"]

        r = await h.client.post(
            "/api/v1/staff/teams", json={"team_id": "streets", "name": "Streets"}, headers=auth
        )
        assert r.status_code == 204, r.text

        async def team_known() -> bool:
            return "streets" in await h.staff.store.known_teams("demo")

        await eventually(team_known, what="the team folded")
        r = await h.client.post(
            "/api/v1/staff/accounts",
            json={"email": agent_email, "name": "Agent One", "roles": ["agent"], "teams": ["streets"]},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        agent_id = UUID(r.json()["staff_id"])
        again = await h.client.post(
            "/api/v1/staff/accounts",
            json={"email": agent_email.upper(), "roles": ["agent"]},
            headers=auth,
        )
        assert again.status_code == 409 and again.json()["error"] == "email_taken"
        nowhere = await h.client.post(
            "/api/v1/staff/accounts",
            json={"email": h.email("crew"), "roles": ["agent"], "teams": ["nowhere"]},
            headers=auth,
        )
        assert nowhere.status_code == 409 and nowhere.json()["error"] == "unknown_team"

        # The invitation: a one-time link whose token is in the fragment.
        token = h.link_token(await h.mail_to(agent_email))
        weak = await h.client.post(
            "/api/v1/staff/auth/password-reset/complete", json={"token": token, "new_password": "short"}
        )
        assert weak.status_code == 400 and weak.json()["error"] == "password_refused"
        done = await h.client.post(
            "/api/v1/staff/auth/password-reset/complete",
            json={"token": token, "new_password": AGENT_PASSWORD},
        )
        assert done.status_code == 204, done.text
        reused = await h.client.post(
            "/api/v1/staff/auth/password-reset/complete",
            json={"token": token, "new_password": AGENT_PASSWORD + "!"},
        )
        assert reused.status_code == 400 and reused.json()["error"] == "reset_link_invalid"

        # First sign-in: the right password asks for TOTP enrolment, no token yet.
        await h.folded(agent_id)
        first = await h.sign_in(agent_email.lower(), AGENT_PASSWORD)
        assert first.status_code == 200, first.text
        enrolment = first.json()
        assert enrolment["status"] == "totp_enrolment_needed" and "access_token" not in enrolment
        assert enrolment["qr_svg"].startswith("<svg") and len(enrolment["recovery_codes"]) == 10
        secret = parse_qs(urlsplit(enrolment["otpauth_uri"]).query)["secret"][0]
        totp = pyotp.TOTP(secret)
        wrong = await h.client.post(
            "/api/v1/staff/auth/totp/confirm", json={"ticket": enrolment["ticket"], "code": "000000"}
        )
        assert wrong.status_code == 401
        first_code = totp.now()
        confirmed = await h.client.post(
            "/api/v1/staff/auth/totp/confirm", json={"ticket": enrolment["ticket"], "code": first_code}
        )
        assert confirmed.status_code == 200, confirmed.text
        agent_token = confirmed.json()["access_token"]
        agent_me = (
            await h.client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {agent_token}"})
        ).json()
        assert agent_me == {
            "staff_id": str(agent_id),
            "jurisdiction_id": "demo",
            "roles": ["agent"],
            "teams": ["streets"],
            "methods": ["pwd", "otp"],
        }

        # Later sign-ins: password, then a code; the code just used is not accepted again (replay).
        assert (await h.sign_in(agent_email, AGENT_PASSWORD)).json() == {"status": "second_factor_needed"}
        replay = await h.sign_in(agent_email, AGENT_PASSWORD, first_code)
        assert replay.status_code == 401
        recovery = enrolment["recovery_codes"][0]
        with_recovery = await h.sign_in(agent_email, AGENT_PASSWORD, recovery.upper().replace("-", ""))
        assert with_recovery.status_code == 200, with_recovery.text
        assert (await h.sign_in(agent_email, AGENT_PASSWORD, recovery)).status_code == 401

        # An agent is not an admin; no token is nobody.
        agent_auth = {"Authorization": f"Bearer {agent_token}"}
        forbidden = await h.client.post(f"/api/v1/staff/accounts/{agent_id}/enable", headers=agent_auth)
        assert forbidden.status_code == 403
        assert (await h.client.post(f"/api/v1/staff/accounts/{agent_id}/enable")).status_code == 401

        # Roles and disabling by the admin; a disabled account is refused like a wrong password.
        r = await h.client.put(
            f"/api/v1/staff/accounts/{agent_id}/roles", json={"roles": ["agent", "supervisor"]}, headers=auth
        )
        assert r.json() == {"changed": True}
        r = await h.client.post(
            f"/api/v1/staff/accounts/{agent_id}/disable", json={"reason": "left"}, headers=auth
        )
        assert r.json() == {"changed": True}
        own = await h.client.post(
            f"/api/v1/staff/accounts/{admin_id}/disable", json={"reason": "left"}, headers=auth
        )
        assert own.status_code == 409 and own.json()["error"] == "own_account"

        async def disabled() -> bool:
            row = await h.staff.store.account(agent_id)
            return row is not None and not row.account.active

        await eventually(disabled, what="the disable folded")
        refused = await h.sign_in(agent_email, AGENT_PASSWORD, enrolment["recovery_codes"][1])
        wrong_password = await h.sign_in(agent_email, "not the password at all")
        assert refused.status_code == wrong_password.status_code == 401
        assert refused.json() == wrong_password.json()

        events = await h.config_events()
        mine = [e for e in events if str(getattr(e.payload, "staff_id", "")) == str(agent_id)]
        assert [(e.type, e.actor.kind.value, e.actor.id) for e in mine] == [
            ("staff.created", "agent", admin_id),
            ("staff.password.set", "agent", str(agent_id)),
            ("staff.totp.enrolled", "agent", str(agent_id)),
            ("staff.roles.changed", "agent", admin_id),
            ("staff.disabled", "agent", admin_id),
        ]
        assert mine[1].payload.via.value == "enrolment"
        assert {e.key for e in events} == {b"demo"}
        admin_created = next(
            e for e in events if e.type == "staff.created" and e.actor.kind.value == "system"
        )
        assert admin_created.actor.id.startswith("staff-cli:")
        raw = b"".join(e.model_dump_json().encode() for e in events)
        for secret_text in (
            agent_email,
            agent_email.lower(),
            h.admin_email,
            AGENT_PASSWORD,
            ADMIN_PASSWORD,
            secret,
            token,
        ):
            assert secret_text.encode() not in raw


async def test_lockout_and_unknown_emails_answer_like_a_wrong_password(
    migrated_dsn, kafka_bootstrap, fresh_topics
):
    async with staff_intake(
        migrated_dsn,
        kafka_bootstrap,
        fresh_topics,
        staff_lockout_failures=3,
        staff_sign_in_rate_limit_per_client="100/minute",
    ) as h:
        wrong = [await h.sign_in(h.admin_email, f"wrong password {i}") for i in range(3)]
        assert {r.status_code for r in wrong} == {401}
        locked = await h.sign_in(h.admin_email, ADMIN_PASSWORD)  # the right password, while locked
        unknown = await h.sign_in("nobody@demo.example", ADMIN_PASSWORD)
        assert locked.status_code == unknown.status_code == 401
        assert locked.json() == unknown.json() == wrong[0].json()
        login = await h.staff.store.login_by_email(email_digest(h.settings.pepper, h.admin_email))
        assert login is not None and login.failures.locked_until is not None

        # A reset link ends the lockout: the new password signs in at once.
        r = await h.client.post("/api/v1/staff/auth/password-reset", json={"email": "nobody@demo.example"})
        assert r.status_code == 202
        r = await h.client.post("/api/v1/staff/auth/password-reset", json={"email": h.admin_email})
        assert r.status_code == 202
        token = h.link_token(await h.mail_to(h.admin_email))
        assert len(h.smtp.received) == 1  # nothing was sent for the unknown email
        new_password = "another long passphrase here"
        done = await h.client.post(
            "/api/v1/staff/auth/password-reset/complete", json={"token": token, "new_password": new_password}
        )
        assert done.status_code == 204
        assert (await h.sign_in(h.admin_email, new_password)).json() == {"status": "second_factor_needed"}
        assert (await h.sign_in(h.admin_email, ADMIN_PASSWORD)).status_code == 401

        # Signed in, a password is changed with the current one; a wrong current one counts as a failure.
        signed_in = await h.sign_in(h.admin_email, new_password, pyotp.TOTP(ADMIN_TOTP).now())
        auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        change = "/api/v1/staff/me/password"
        wrong_current = await h.client.post(
            change,
            json={"current_password": ADMIN_PASSWORD, "new_password": "yet another passphrase"},
            headers=auth,
        )
        assert wrong_current.status_code == 400 and wrong_current.json()["error"] == "current_password_wrong"
        changed = await h.client.post(
            change,
            json={"current_password": new_password, "new_password": "yet another passphrase"},
            headers=auth,
        )
        assert changed.status_code == 204, changed.text
        assert (await h.sign_in(h.admin_email, "yet another passphrase")).json() == {
            "status": "second_factor_needed"
        }
        assert (await h.sign_in(h.admin_email, new_password)).status_code == 401
        admin_id = (await h.client.get("/api/v1/staff/me", headers=auth)).json()["staff_id"]
        sets = [e for e in await h.config_events() if e.type == "staff.password.set"]
        assert [(e.payload.via.value, e.actor.id) for e in sets] == [
            ("enrolment", sets[0].actor.id),  # seeded by the operator's CLI
            ("reset", admin_id),
            ("change", admin_id),
        ]


async def test_sign_in_routes_are_rate_limited_per_client(migrated_dsn, kafka_bootstrap, fresh_topics):
    async with staff_intake(
        migrated_dsn, kafka_bootstrap, fresh_topics, staff_sign_in_rate_limit_per_client="3/minute"
    ) as h:
        answers = [await h.sign_in("nobody@demo.example", "guess number one") for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1


async def test_a_staff_change_left_pending_is_published_by_the_sweeper(
    migrated_dsn, kafka_bootstrap, fresh_topics
):
    """A change stored with its event but never published (its process stopped between the two) reaches the log
    once, through the staff sweeper, and is folded."""
    async with staff_intake(migrated_dsn, kafka_bootstrap, fresh_topics) as h:
        admin_id = (
            await h.staff.store.login_by_email(email_digest(h.settings.pepper, h.admin_email))
        ).staff_id
        change = staff_event(
            StaffRolesChanged(
                staff_id=admin_id, roles=[Role.admin, Role.auditor], previous_roles=[Role.admin]
            ),
            jurisdiction_id="demo",
            actor=cli_actor("alice"),
            source=SOURCE_CLI,
        )
        await h.staff.store.add_change(change, staff_id=admin_id)
        sweeper = Sweeper([h.staff.store], h.staff.config_log, older_than=timedelta(0))
        assert await sweeper.sweep_once() == 1
        assert await sweeper.sweep_once() == 0

        async def folded() -> bool:
            row = await h.staff.store.account(admin_id)
            return row is not None and row.account.roles == (Role.admin, Role.auditor)

        await eventually(folded, what="the swept change folded")
        on_log = [e for e in await h.config_events() if e.event_id == change.event_id]
        assert len(on_log) == 1
