"""Staff and roles in the admin pages, on the real app, database and broker: an admin lists the jurisdiction's
accounts, defines a team, creates an account (its invitation mailed), changes its roles and teams, disables and
enables it, each change once on `jurisdiction.config` with the admin as actor; a refusal comes back on the page;
forged forms and staff without the admin role change nothing."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from admin_harness import admin_world, config_events, sign_in
from civicloop_staff.roles import Role
from civicloop_testing.polling import eventually
from console_harness import browser_client, hidden
from intake_harness import Harness

pytestmark = pytest.mark.integration

STAFF = "/console/admin/staff"


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start : html.index("</section>", start)]


async def test_an_admin_manages_staff_and_roles(intake: Harness):
    async with admin_world(intake) as (world, smtp), browser_client(world) as client:
        first = await sign_in(client, world)
        assert first.startswith("/console/admin")  # an admin only: no queue to open, the admin pages instead
        home = await client.get(first)
        assert home.status_code == 303 and home.headers["location"].startswith(STAFF)
        page = await client.get(STAFF)
        assert page.status_code == 200, page.text
        assert page.headers["cache-control"] == "no-store"
        assert world.agent.email in page.text  # the admin's own account, its email unsealed for the page
        csrf = hidden(page.text, "csrf")
        tag = uuid4().hex[:8]  # the tests share the jurisdiction's staff and teams: this test's own
        roads, parks = f"roads-{tag}", f"parks-{tag}"

        team = await client.post(
            f"{STAFF}/teams", data={"csrf": csrf, "team_id": roads, "team_name": "Roads"}
        )
        assert team.status_code == 303 and "done=team" in team.headers["location"]

        async def shows(text: str) -> str | None:
            current = await client.get(STAFF)
            return current.text if text in current.text else None

        await eventually(lambda: shows(f"<code>{roads}</code> Roads"), timeout=30, what="the team listed")

        email, name = f"new.agent.{tag}@county.example", f"Nora Field {tag}"
        made = await client.post(
            f"{STAFF}/accounts",
            data={
                "csrf": csrf,
                "email": email,
                "name": name,
                "roles": ["agent"],
                "teams": [roads],
                "send_invitation": "yes",
            },
        )
        assert made.status_code == 303, made.text
        assert "done=created" in made.headers["location"]
        listed = await eventually(lambda: shows(name), timeout=30, what="the new account listed")
        assert email in listed
        staff_id = re.search(r'href="#acc-([0-9a-f-]{36})">' + name, listed)
        assert staff_id, "the account's row links to its forms"
        new_id = staff_id.group(1)

        async def invited() -> bool:
            return bool(smtp.to(email))

        await eventually(invited, timeout=30, what="the invitation mail")
        assert "/staff/reset#" in smtp.to(email)[0].message.get_content()

        account = f"{STAFF}/accounts/{new_id}"
        roles = await client.post(f"{account}/roles", data={"csrf": csrf, "roles": ["supervisor", "agent"]})
        assert roles.status_code == 303 and "done=roles" in roles.headers["location"]
        await client.post(f"{STAFF}/teams", data={"csrf": csrf, "team_id": parks, "team_name": "Parks"})
        await eventually(lambda: shows(f"<code>{parks}</code> Parks"), timeout=30, what="the second team")
        teams = await client.post(f"{account}/teams", data={"csrf": csrf, "teams": [parks]})
        assert teams.status_code == 303, teams.text
        off = await client.post(f"{account}/disable", data={"csrf": csrf, "reason": "left"})
        assert off.status_code == 303 and "done=disabled" in off.headers["location"]
        disabled = await eventually(lambda: shows("Disabled (Left)"), timeout=30, what="the account disabled")
        assert "Enable" in _section(disabled, f"acc-{new_id}")
        on = await client.post(f"{account}/enable", data={"csrf": csrf})
        assert on.status_code == 303 and "done=enabled" in on.headers["location"]

        # Refusals come back on the page, with what was typed: no role; the admin's own roles; an unknown team.
        no_role = await client.post(f"{STAFF}/accounts", data={"csrf": csrf, "email": "x@county.example"})
        assert no_role.status_code == 422 and "roles" in no_role.text
        assert 'value="x@county.example"' in no_role.text
        own = await client.post(
            f"{STAFF}/accounts/{world.agent.staff_id}/roles", data={"csrf": csrf, "roles": ["agent"]}
        )
        assert own.status_code in (403, 409) and 'role="alert"' in own.text
        unknown = await client.post(f"{account}/teams", data={"csrf": csrf, "teams": ["nowhere"]})
        assert unknown.status_code == 409 and 'role="alert"' in unknown.text

        # A forged form (no session CSRF token) and an account that does not exist change nothing.
        forged = await client.post(f"{account}/disable", data={"csrf": "forged", "reason": "left"})
        assert forged.status_code == 403
        nobody = await client.post(f"{STAFF}/accounts/not-a-uuid/enable", data={"csrf": csrf})
        assert nobody.status_code == 404

        async def recorded() -> list[str] | None:
            mine = [
                e.type
                for e in await config_events(intake)
                if e.actor.kind == "agent" and e.actor.id == str(world.agent.staff_id)
            ]
            return mine if len(mine) >= 7 else None

        done = await eventually(recorded, timeout=30, what="the admin's changes on the log")
        assert done == [
            "jurisdiction.team.defined",
            "staff.created",
            "staff.roles.changed",
            "jurisdiction.team.defined",
            "staff.teams.changed",
            "staff.disabled",
            "staff.enabled",
        ]


async def test_only_admins_open_the_admin_pages(intake: Harness):
    async with (
        admin_world(intake, roles=(Role.agent, Role.supervisor)) as (world, _),
        browser_client(world) as client,
    ):
        stranger = await client.get(STAFF)
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/console/sign-in")
        assert (await sign_in(client, world)).startswith("/console/queue")
        queue = await client.get("/console/queue")
        assert STAFF not in queue.text  # no link to pages the agent cannot open
        refused = await client.get(STAFF)
        assert refused.status_code == 403 and world.agent.email not in refused.text
        csrf = hidden(queue.text, "csrf")
        post = await client.post(
            f"{STAFF}/accounts", data={"csrf": csrf, "email": "sneaky@county.example", "roles": ["admin"]}
        )
        assert post.status_code == 403
        assert not [
            e for e in await config_events(intake) if e.type == "staff.created" and e.actor.kind == "agent"
        ]
