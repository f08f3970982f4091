"""The selfheal page of the admin pages, on the real app, database and broker: whether the cron token is set (never
its value), "run now" offered only when selfheal's address is configured, an unreachable selfheal said plainly,
and only an admin's own session with its CSRF token can ask for a run. Against selfheal's real app (its own
database, the test's topics): a request stuck for hours is found and escalated by the admin's run, which selfheal
records as the admin's and lists."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from admin_harness import admin_world, replica, selfheal_served, sign_in
from civicloop_events import Actor, ActorKind
from civicloop_events.payloads import (
    CategorySla,
    Location,
    OpeningHours,
    ServiceRequestSubmitted,
    SlaClock,
    SlaDefined,
    Weekday,
)
from civicloop_intake.admin_pages.selfheal import counted
from civicloop_staff.roles import Role
from civicloop_testing.events import config_event, publish_events, request_event
from civicloop_testing.polling import eventually
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


def _stuck_for_hours(service_code: str = "pothole") -> tuple[str, list, list]:
    """A report (of `service_code`) made three hours ago and never acknowledged (the SLA: within the hour): its number, the SLA on
    `jurisdiction.config`, the report on the requests' topic."""
    number = (
        "".join(random.choices("ABCDEFGHJKMNPQRSTVWXYZ", k=4))
        + "-"
        + "".join(random.choices("23456789", k=4))
    )
    sla = SlaDefined(
        time_zone="UTC",
        opening_hours=[OpeningHours(day=Weekday.monday, opens="08:00", closes="17:00")],
        categories=[
            CategorySla(
                service_code=service_code,
                acknowledge_within_minutes=60,
                resolve_within_minutes=48 * 60,
                clock=SlaClock.all_hours,
            )
        ],
        dormant_after_days=30,
    )
    report = request_event(
        ServiceRequestSubmitted(
            service_code=service_code, description="a hole", location=Location(lat=41.88, long=-87.63)
        ),
        request_id=number,
        actor=Actor(kind=ActorKind.resident, id=None),
        source="web",
        occurred_at=datetime.now(UTC) - timedelta(hours=3),
    )
    return number, [config_event(sla)], [report]


async def test_run_now_against_selfheal_finds_and_escalates_a_stuck_request(
    intake: Harness, pg_admin_dsn: str
):
    number, config, reports = _stuck_for_hours()
    await publish_events(intake.settings.kafka_bootstrap, intake.topics.jurisdiction_config, config)
    await publish_events(intake.settings.kafka_bootstrap, intake.topics.request_events, reports)
    async with admin_world(intake) as (world, _):
        with selfheal_served(world, intake, pg_admin_dsn) as (selfheal_url, selfheal_dsn):

            async def folded() -> bool:  # selfheal's own view holds the report and the SLA
                async with await psycopg.AsyncConnection.connect(selfheal_dsn) as conn:
                    cur = await conn.execute(
                        "select (select count(*) from selfheal.requests where request_number = %s)"
                        " + (select count(*) from selfheal.sla_definitions)",
                        (number,),
                    )
                    row = await cur.fetchone()
                    return bool(row and row[0] == 2)

            await eventually(folded, timeout=30, what="selfheal folded the stuck request and the SLA")
            async with replica(world, admin_selfheal_url=selfheal_url) as client:
                await sign_in(client, world)
                page = await client.get(PAGE)
                assert page.status_code == 200 and "No run yet." in page.text, page.text
                csrf = hidden(page.text, "csrf", "/console/admin/selfheal/run")
                ran = await client.post(PAGE + "/run", data={"csrf": csrf})
                assert ran.status_code == 200, ran.text
                report = ran.text[ran.text.index('class="run-report"') :]
                report = report[: report.index("</section>")]
                assert '<code>unacknowledged</code> <span class="count">1</span>' in report
                assert '<code>escalate</code> <span class="count">1</span>' in report
                runs = ran.text[ran.text.index('class="runs"') :]
                assert f"admin ({world.agent.staff_id})" in runs and "done" in runs

                again = await client.post(PAGE + "/run", data={"csrf": csrf})  # escalated once: nothing new
                assert again.status_code == 200
                second = again.text[again.text.index('class="run-report"') :]
                assert "escalate" not in second[: second.index("</section>")]

            async with await psycopg.AsyncConnection.connect(selfheal_dsn) as conn:
                cur = await conn.execute("select trigger, staff_id from selfheal.runs order by started_at")
                assert await cur.fetchall() == [("admin", str(world.agent.staff_id))] * 2
