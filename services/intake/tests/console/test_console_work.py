"""The console on the real app, database and broker, with public-projections' real agent view: an agent signs in
with password and TOTP into a server-side session, finds a new request in the queue, works it to closed through the
request page's forms, and the log holds each step once with the agent as actor; forms without the session's CSRF
token, strangers and signed-out browsers do nothing."""

from __future__ import annotations

import re

import pyotp
import pytest
from civicloop_intake.console.routes import FORM_COOKIE, SESSION_COOKIE
from civicloop_intake.console.sessions import open_token
from civicloop_testing.polling import eventually
from console_harness import PASSWORD, browser_client, console_world, hidden, notifier_settings
from intake_harness import Harness

pytestmark = pytest.mark.integration


async def _signed_in_client(client, world) -> None:
    form = await client.get("/console/sign-in")
    token = hidden(form.text, "form_token")
    answer = await client.post(
        "/console/sign-in",
        data={
            "form_token": token,
            "email": world.agent.email,
            "password": PASSWORD,
            "code": world.agent.totp.now(),
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/console/queue")


async def test_sign_in_steps_and_the_session_cookie(intake: Harness):
    async with console_world(intake) as world, browser_client(world) as client:
        stranger = await client.get("/console/queue")
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/console/sign-in")
        assert "ended" not in stranger.headers["location"]  # never signed in: no "your session ended"

        form = await client.get("/console/sign-in?lang=es")
        assert "Iniciar sesión" in form.text and form.headers["cache-control"] == "no-store"
        assert "SameSite=strict" in form.headers["set-cookie"] and "HttpOnly" in form.headers["set-cookie"]
        token = hidden(form.text, "form_token")

        # Without the form's own token (a post from elsewhere): refused, and no sign-in is tried.
        forged = await client.post(
            "/console/sign-in",
            data={"form_token": "forged", "email": world.agent.email, "password": PASSWORD},
        )
        assert forged.status_code == 400 and SESSION_COOKIE not in client.cookies

        # Each form shown comes with its own token (the cookie and the field): the latest one counts.
        token = client.cookies[FORM_COOKIE]
        assert token == hidden(forged.text, "form_token")
        wrong = await client.post(
            "/console/sign-in",
            data={"form_token": token, "email": world.agent.email, "password": "not the password"},
        )
        assert wrong.status_code == 401 and SESSION_COOKIE not in client.cookies
        assert "not right" in wrong.text

        # Right password, no code yet: the next step asks for it; the password is never written back.
        token = client.cookies[FORM_COOKIE]
        step = await client.post(
            "/console/sign-in", data={"form_token": token, "email": world.agent.email, "password": PASSWORD}
        )
        assert step.status_code == 200 and "authenticator app" in step.text
        assert PASSWORD not in step.text and SESSION_COOKIE not in client.cookies

        token = client.cookies[FORM_COOKIE]
        done = await client.post(
            "/console/sign-in",
            data={
                "form_token": token,
                "email": world.agent.email,
                "password": PASSWORD,
                "code": world.agent.totp.now(),
            },
        )
        assert done.status_code == 303
        cookie = done.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        session_id = client.cookies[SESSION_COOKIE]
        assert "." not in session_id  # an opaque id, not the (dotted) access token
        async with intake.pool.connection() as conn:
            cur = await conn.execute(
                "select access_token from intake.console_sessions where staff_id = %s",
                (world.agent.staff_id,),
            )
            [(stored,)] = await cur.fetchall()
        # The row holds the token sealed under the cookie's id: the table alone gives no token to call the API.
        assert stored.startswith("v1.") and "." not in stored.removeprefix("v1.")
        assert open_token(session_id, stored) is not None and open_token("another-id", stored) is None

        queue = await client.get("/console/queue")
        assert queue.status_code == 200, queue.text
        assert "<h1>Queue</h1>" in queue.text

        # Signing out needs the session's CSRF token too; then the session is gone from the server.
        refused = await client.post("/console/sign-out", data={"csrf": "forged"})
        assert refused.status_code == 403
        csrf = hidden(queue.text, "csrf")
        out = await client.post("/console/sign-out", data={"csrf": csrf})
        assert out.status_code == 303 and "ended=signed_out" in out.headers["location"]
        client.cookies.set(SESSION_COOKIE, session_id, path="/console")  # a copy of the cookie kept somewhere
        again = await client.get("/console/queue")
        assert again.status_code == 303 and again.headers["location"].startswith("/console/sign-in")
        assert "ended=session" in again.headers["location"]


async def test_an_agent_works_a_request_to_closed_and_the_log_says_so(intake: Harness):
    async with console_world(intake) as world, browser_client(world) as client:
        await _signed_in_client(client, world)
        number = await intake.submit(
            "Deep hole by the bus stop", address="1200 Main St", contact={"email": "r@example.org"}
        )

        async def listed() -> str | None:
            page = await client.get("/console/queue")
            return page.text if number in page.text else None

        queue = await eventually(listed, timeout=30, what="the new request in the console's queue")
        assert f'href="/console/requests/{number}?lang=en"' in queue

        page = await client.get(f"/console/requests/{number}")
        assert page.status_code == 200, page.text
        assert "Deep hole by the bus stop" in page.text and "request.submitted" in page.text
        csrf = hidden(page.text, "csrf")

        # A form posted without the session's CSRF token does nothing.
        forged = await client.post(f"/console/requests/{number}/acknowledge", data={"csrf": "x"})
        assert forged.status_code == 403

        ack_key = hidden(page.text, "idempotency_key", f"/console/requests/{number}/acknowledge")
        ack = {"csrf": csrf, "idempotency_key": ack_key, "public_note": "We are on it"}
        first = await client.post(f"/console/requests/{number}/acknowledge", data=ack)
        assert first.status_code == 303, first.text
        assert "done=acknowledge" in first.headers["location"] and "after=" in first.headers["location"]
        again = await client.post(f"/console/requests/{number}/acknowledge", data=ack)  # the form sent twice
        assert again.status_code == 303

        shown = await client.get(first.headers["location"])
        assert "Done: Acknowledge." in shown.text and 'class="status-acknowledged"' in shown.text

        steps = [
            ("comment", {"text": "Crew called", "visibility": "internal"}),
            ("assign", {"to_me": "1"}),
            ("close", {"reason": "fixed", "public_note": "Filled this morning"}),
        ]
        for action, fields in steps:
            current = await client.get(f"/console/requests/{number}")
            key = hidden(current.text, "idempotency_key", f"/console/requests/{number}/{action}")
            answer = await client.post(
                f"/console/requests/{number}/{action}", data={"csrf": csrf, "idempotency_key": key, **fields}
            )
            assert answer.status_code == 303, (action, answer.text[-2000:])

        closed = await client.get(answer.headers["location"])  # after the close's position: read your writes
        assert 'class="status-closed"' in closed.text and "Reopen" in closed.text

        # A refusal comes back as the page with why: a closed request cannot be closed again.
        refused = await client.post(
            f"/console/requests/{number}/close",
            data={"csrf": csrf, "idempotency_key": "console-close-again", "reason": "fixed"},
        )
        assert refused.status_code == 409 and "Refused:" in refused.text

        events = await world.events_of(intake, number)
        worked = [e for e in events if e.actor.kind == "agent"]
        assert [e.type for e in worked] == [
            "request.status.changed",
            "request.comment.added",
            "request.assigned",
            "request.status.changed",
        ]
        assert {e.actor.id for e in worked} == {str(world.agent.staff_id)}
        assert [e.payload.status.value for e in worked if e.type == "request.status.changed"] == [
            "acknowledged",
            "closed",
        ]


async def test_the_preview_says_who_will_be_notified_before_saving(intake: Harness, inbox: object):
    notifier = notifier_settings(intake)
    async with console_world(intake, notifier=notifier) as world, browser_client(world) as client:
        await _signed_in_client(client, world)
        report = {
            "service_code": "pothole",
            "description": "Graffiti on the library wall",
            "address_string": "3 Elm St",
            "contact": {"email": "reader@example.org"},
            "preferred_channel": "email",
        }
        made = await intake.client.post("/api/v1/requests", json=report)
        assert made.status_code == 201, made.text
        number = made.json()["request_number"]
        url = f"/console/requests/{number}"

        async def form_of(action: str) -> dict[str, str]:
            page = await client.get(url)
            if page.status_code != 200:
                return {}
            return {
                "csrf": hidden(page.text, "csrf"),
                "idempotency_key": hidden(page.text, "idempotency_key", f"{url}/{action}"),
            }

        form = await eventually(lambda: form_of("comment"), timeout=30, what="the request's page")
        public = {
            **form,
            "text": "The wall will be cleaned on Monday",
            "visibility": "public",
            "preview": "1",
        }

        async def previewed() -> str | None:
            page = await client.post(f"{url}/comment", data=public)
            assert page.status_code == 200, page.text
            return page.text if "· email ·" in page.text else None

        shown = await eventually(previewed, timeout=30, what="the notifier to know the resident")
        assert "Who will be notified if you save" in shown and "The wall will be cleaned on Monday" in shown
        assert "reader@example.org" not in shown  # who, by channel and language: never the contact itself
        assert (
            hidden(shown, "idempotency_key", f"{url}/comment") == form["idempotency_key"]
        )  # saving is the same

        internal = await client.post(f"{url}/comment", data={**public, "visibility": "internal"})
        assert "Nobody: no resident is told of this." in internal.text

        events_before = await world.events_of(intake, number)
        assert not [e for e in events_before if e.type == "request.comment.added"]  # a preview saves nothing

        saved = await client.post(f"{url}/comment", data={k: v for k, v in public.items() if k != "preview"})
        assert saved.status_code == 303
        comments = [e for e in await world.events_of(intake, number) if e.type == "request.comment.added"]
        assert [e.payload.text for e in comments] == ["The wall will be cleaned on Monday"]


async def test_an_agent_without_totp_sets_up_the_app_at_the_first_sign_in(intake: Harness):
    async with console_world(intake, totp_enrolled=False) as world, browser_client(world) as client:
        form = await client.get("/console/sign-in")
        enrol = await client.post(
            "/console/sign-in",
            data={
                "form_token": hidden(form.text, "form_token"),
                "email": world.agent.email,
                "password": PASSWORD,
            },
        )
        assert enrol.status_code == 200 and "Set up your authenticator app" in enrol.text
        assert 'src="data:image/svg+xml;base64,' in enrol.text  # the QR code, drawn by intake, no script
        assert SESSION_COOKIE not in client.cookies
        key = re.search(r'<code class="key">([A-Z2-7 ]+)</code>', enrol.text)
        assert key, "the key to type instead of scanning"
        app = pyotp.TOTP(key.group(1).replace(" ", ""))

        wrong = await client.post(
            "/console/sign-in/totp",
            data={
                "form_token": hidden(enrol.text, "form_token"),
                "ticket": hidden(enrol.text, "ticket"),
                "code": "000000",
            },
        )
        assert wrong.status_code == 401 and SESSION_COOKIE not in client.cookies

        # The enrolment's ticket lives on the server for a while: the first right code from the app confirms it.
        confirmed = await client.post(
            "/console/sign-in/totp",
            data={
                "form_token": hidden(wrong.text, "form_token"),
                "ticket": hidden(enrol.text, "ticket"),
                "code": app.now(),
            },
        )
        assert confirmed.status_code == 303, confirmed.text
        assert (await client.get("/console/queue")).status_code == 200
