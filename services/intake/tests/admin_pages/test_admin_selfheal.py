"""The selfheal page of the admin pages, on the real app, database and broker: whether the cron token is set (never
its value), "run now" offered only when selfheal's address is configured, an unreachable selfheal said plainly,
and only an admin's own session with its CSRF token can ask for a run."""

from __future__ import annotations

import pytest
from admin_harness import admin_world, sign_in
from civicloop_intake.admin_pages.selfheal import counted
from civicloop_staff.roles import Role
from civicloop_testing.processes import free_port
from console_harness import browser_client, hidden
from intake_harness import Harness

pytestmark = pytest.mark.integration

PAGE = "/console/admin/selfheal"
CRON_SECRET = "cron-token-that-must-never-show"


async def test_without_selfheal_the_page_says_so_and_names_the_token(intake: Harness, monkeypatch):
    monkeypatch.delenv("CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN", raising=False)
    async with admin_world(intake) as (world, _), browser_client(world) as client:
        await sign_in(client, world)
        page = await client.get(PAGE)
        assert page.status_code == 200, page.text
        assert "not configured" in page.text and "Run now" not in page.text
        assert "No cron token is set" in page.text

        monkeypatch.setenv("CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN", CRON_SECRET)
        page = await client.get(PAGE + "?lang=es")
        assert "Hay un token de cron" in page.text and CRON_SECRET not in page.text


async def test_an_unreachable_selfheal_is_said_plainly(intake: Harness):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with admin_world(intake, admin_selfheal_url=closed) as (world, _), browser_client(world) as client:
        await sign_in(client, world)
        page = await client.get(PAGE)
        assert page.status_code == 503 and "cannot be reached" in page.text
        csrf = hidden(page.text, "csrf", "/console/admin/selfheal/run")
        forged = await client.post(PAGE + "/run", data={"csrf": "forged"})
        assert forged.status_code == 403
        run = await client.post(PAGE + "/run", data={"csrf": csrf})
        assert run.status_code == 503 and "cannot be reached" in run.text


async def test_only_admins_open_the_selfheal_page(intake: Harness):
    closed = f"http://127.0.0.1:{free_port()}"
    async with (
        admin_world(intake, roles=(Role.supervisor,), admin_selfheal_url=closed) as (world, _),
        browser_client(world) as client,
    ):
        stranger = await client.post(PAGE + "/run", data={"csrf": "x"})
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/console/sign-in")
        await sign_in(client, world)
        csrf = hidden((await client.get("/console/queue")).text, "csrf")
        assert (await client.get(PAGE)).status_code == 403
        assert (await client.post(PAGE + "/run", data={"csrf": csrf})).status_code == 403


def test_a_runs_counts_are_listed_by_name_without_the_zeros():
    assert counted({"past_due": 2, "dormant": 0, "not_sent": 1}) == [("not_sent", 1), ("past_due", 2)]
    assert counted(None) == [] and counted({"bad": "x"}) == []
