"""End to end through the real broker and PostgreSQL, the closed loop of selfheal: a request that stopped moving is
found by a sweep that a cron runner calls (with the cron token, many times at once, on two replicas), and the
service that owns the work carries out what selfheal decided, once.

- A resident's report nobody acknowledged past its SLA's target (time moved back with `time-machine` for the
  submission, so it is three hours old): escalated once; the notifier e-mails the supervisor of the request's team
  once (staff accounts created by an admin through intake, their addresses sealed; a real SMTP server) and tells the
  resident once, on their channel and in their language, that the request is late.
- A report a department's webhook refused (given up at once) and would now accept: requeued once; outbound sends
  it once.

intake, the notifier, outbound and selfheal run in this process as their real apps, wired only through Kafka.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from civicloop_events import ServiceDefined
from civicloop_events.payloads import (
    BodyDefined,
    CategorySla,
    DeliveryRequeued,
    Escalated,
    LateDeclared,
    NotificationChannel,
    NotificationSent,
    OpeningHours,
    SendFailed,
    SendMethod,
    SentToBackend,
    SlaClock,
    SlaDefined,
    StuckReason,
    WebhookConnection,
    Weekday,
)
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_notifier.bootstrap import bootstrap as notifier_bootstrap
from civicloop_notifier.database import migrate as migrate_notifier
from civicloop_notifier.settings import NotifierSettings
from civicloop_outbound import database as outbound_database
from civicloop_outbound.entrypoints.http import create_app as create_outbound
from civicloop_outbound.settings import OutboundSettings
from civicloop_runtime.db import open_pool
from civicloop_selfheal.entrypoints.http import create_app as create_selfheal
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from civicloop_testing.threaded_server import serve_in_thread
from e2e_world import migrated_intake, publish_configuration, serving
from stuck_world import (
    CRON_TOKEN,
    CRON_TOKEN_ENV,
    RefusingWebhook,
    actions_done,
    cron_storm,
    events_about,
    migrated_selfheal,
    sla_known,
    view_holds,
)

pytestmark = pytest.mark.integration

ADMIN_ID = uuid.uuid4()
AGENT_ID = uuid.uuid4()
RESIDENT_EMAIL = "marta.ruiz@example.org"
CONSOLE = "https://console.civicloop.example/agent/requests/{number}"
WEBHOOK_SECRET = "e2e-webhook-signing-secret"
WEBHOOK_SECRET_REF = "e2e.works-webhook"
STORM = 20  # concurrent cron calls per round


def sla() -> SlaDefined:
    """Potholes acknowledged within an hour, resolved within two days, counted at all hours."""
    return SlaDefined(
        time_zone="UTC",
        opening_hours=[OpeningHours(day=Weekday.monday, opens="08:00", closes="17:00")],
        categories=[
            CategorySla(
                service_code="pothole",
                acknowledge_within_minutes=60,
                resolve_within_minutes=48 * 60,
                clock=SlaClock.all_hours,
            )
        ],
        dormant_after_days=30,
    )


def report(contact: dict[str, str], **more: str) -> dict[str, Any]:
    return {
        "service_code": "pothole",
        "description": "A deep hole by the bus stop",
        "address_string": "12 Main St",
        "contact": contact,
        **more,
    }


async def submitted(intake: httpx.AsyncClient, body: dict[str, Any], key: str) -> str:
    async def catalogued() -> httpx.Response | None:
        r = await intake.post("/api/v1/requests", json=body, headers={"Idempotency-Key": key})
        return None if r.status_code == 422 else r

    r = await eventually(catalogued, timeout=30, what="intake to learn the catalogue", interval=0.1)
    assert r.status_code == 201, r.text
    return str(r.json()["request_number"])


def notifier_settings(dsn: str, topics: Any, kafka_bootstrap: str) -> NotifierSettings:
    tag = uuid.uuid4().hex[:8]
    settings = run_settings(
        NotifierSettings,
        dsn,
        kafka_bootstrap,
        topics,
        # Groups of this test's own: ones shared with other runs' notifiers would rebalance with theirs.
        requests_consumer_name=f"notifier.requests.v1.{tag}",
        staff_directory_consumer_name=f"notifier.staff.v1.{tag}",
        tracking_url="https://civicloop.example/track/{number}",
        agent_console_url=CONSOLE,
        notifier_providers={NotificationChannel.email: "smtp"},
        notifier_poll_interval_s=0.05,
        notifier_backoff_initial_s=0.05,
        notifier_backoff_max_s=0.2,
    )
    migrate_notifier(settings.sqlalchemy_url)
    return settings


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The county's mail relay, and the notifier's SMTP settings pointing at it as `make run` sets them."""
    with smtp_inbox() as started:
        for name, value in {
            "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
            "CIVICLOOP_EMAIL_PORT": str(started.port),
            "CIVICLOOP_EMAIL_MAIL_FROM": "CivicLoop <no-reply@county.example>",
        }.items():
            monkeypatch.setenv(name, value)
        yield started


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's secrets: selfheal's cron token, the department's webhook signing secret."""
    monkeypatch.setenv(CRON_TOKEN_ENV, CRON_TOKEN)
    monkeypatch.setenv("CIVICLOOP_SECRET_E2E_WORKS_WEBHOOK", WEBHOOK_SECRET)


async def test_an_unacknowledged_request_is_escalated_to_its_team_s_supervisor_and_the_resident_told_once(
    fresh_database_dsn, fresh_topics, kafka_bootstrap, inbox: SmtpInbox
):
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    notifier = notifier_settings(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    selfheal_settings = migrated_selfheal(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(
        kafka_bootstrap, fresh_topics, ServiceDefined(service_code="pothole", service_name="Pothole")
    )
    pool = await open_pool(fresh_database_dsn, min_size=1, max_size=2, name="e2e-stuck")
    running_notifier = await notifier_bootstrap(notifier)
    try:
        async with serving(
            (create_intake(intake_settings, staff_verifier=verifier_for_tests()), "http://intake"),
            # Two replicas of selfheal: one sweep at a time across both.
            (create_selfheal(selfheal_settings, staff_verifier=verifier_for_tests()), "http://selfheal-a"),
            (create_selfheal(selfheal_settings, staff_verifier=verifier_for_tests()), "http://selfheal-b"),
        ) as (intake, *selfheal):
            leads = await staff_of_the_county(intake)

            # Submitted three hours ago (time moved back for the submission alone), then given to the streets team.
            with time_machine.travel(datetime.now(UTC) - timedelta(hours=3), tick=True):
                number = await submitted(
                    intake,
                    report({"email": RESIDENT_EMAIL}, preferred_channel="email", language="es"),
                    "e2e-stuck-unacknowledged",
                )
            await assigned_to_streets(intake, number)
            await mails_to(inbox, RESIDENT_EMAIL, 1, "the resident's receipt")

            await view_holds(pool, number, "view->>'team_id' = 'streets'")
            await sla_known(pool, "demo")
            runs = await cron_storm(*selfheal, calls=STORM)
            runs += await cron_storm(*selfheal, calls=STORM)
            assert actions_done(runs) == Counter({"escalate": 1, "declare_late": 1}), runs
            assert [r["found"] for r in runs if r["done"]] == [{"unacknowledged": 1}]

            [escalation] = await mails_to(inbox, leads["streets"], 1, "the escalation to the streets lead")
            [_, late] = await mails_to(inbox, RESIDENT_EMAIL, 2, "the late notice to the resident")
            # Swept again once the notices went: the cooldown holds, nothing more is done or sent.
            again = await cron_storm(*selfheal, calls=STORM)
            assert actions_done(again) == Counter()
            await running_notifier.staff_loop.drain()
            await running_notifier.sender_loop.drain()
    finally:
        await running_notifier.close()
        await pool.close()

    assert escalation["Subject"] == f"Escalated: report {number}"
    text = escalation.get_body(("plain",)).get_content()
    assert "Team: Streets" in text and CONSOLE.format(number=number) in text
    assert RESIDENT_EMAIL not in escalation.as_string()
    late_text = late.get_body(("plain",)).get_content()
    assert f"Su reporte {number} lleva retraso" in late_text and "Se avisó a un supervisor" in late_text
    # Nobody else was written to: not the parks lead, not the agent, nobody twice.
    assert sorted(a for r in inbox.received for a in r.rcpt_tos) == sorted(
        [leads["streets"], RESIDENT_EMAIL, RESIDENT_EMAIL]
    )

    events = await events_about(kafka_bootstrap, fresh_topics, number)
    by_selfheal = [e for e in events if e.source == "selfheal"]
    assert [type(e.payload) for e in by_selfheal] == [Escalated, LateDeclared], by_selfheal
    escalated = by_selfheal[0].payload
    assert (escalated.reason, escalated.team_id) == (StuckReason.unacknowledged, "streets")
    assert {e.actor.id for e in by_selfheal} == {"selfheal"}
    told = [e.payload for e in events if isinstance(e.payload, NotificationSent)]
    assert [(t.kind.value, t.channel.value, t.language) for t in told] == [
        ("received", "email", "es"),
        ("late", "email", "es"),
    ]


async def staff_of_the_county(intake: httpx.AsyncClient) -> dict[str, str]:
    """Two teams, each with a supervisor, and an agent, created by an admin through intake as a jurisdiction's
    admin does it (their addresses sealed on the log); the leads' addresses by team."""
    admin = staff_headers(ADMIN_ID, "admin")
    for team_id, name in (("streets", "Streets"), ("parks", "Parks")):
        r = await intake.post("/api/v1/staff/teams", json={"team_id": team_id, "name": name}, headers=admin)
        assert r.status_code == 204, r.text
    leads = {"streets": "streets.lead@county.example", "parks": "parks.lead@county.example"}
    accounts = [
        (leads["streets"], ["supervisor"], ["streets"]),
        (leads["parks"], ["supervisor"], ["parks"]),
        ("crew.agent@county.example", ["agent"], ["streets"]),
    ]
    for email, roles, teams in accounts:
        body = {"email": email, "roles": roles, "teams": teams, "send_invitation": False}

        async def created(body: dict[str, Any] = body) -> httpx.Response | None:
            r = await intake.post("/api/v1/staff/accounts", json=body, headers=admin)
            return None if r.status_code == 409 and r.json()["error"] == "unknown_team" else r

        r = await eventually(created, timeout=30, what="intake to learn the teams", interval=0.1)
        assert r.status_code == 201, r.text

    async def sla_defined() -> httpx.Response | None:
        r = await intake.put("/api/v1/staff/sla", json=sla().model_dump(mode="json"), headers=admin)
        return None if r.status_code == 422 else r

    r = await eventually(
        sla_defined, timeout=30, what="the SLA accepted (the catalogue folded)", interval=0.1
    )
    assert r.status_code == 200, r.text
    return leads


async def assigned_to_streets(intake: httpx.AsyncClient, number: str) -> None:
    async def assigned() -> httpx.Response | None:
        r = await intake.post(
            f"/api/v1/agent/requests/{number}/assign",
            json={"team_id": "streets"},
            headers=staff_headers(AGENT_ID, "agent"),
        )
        return None if r.status_code in (404, 422) else r

    r = await eventually(assigned, timeout=30, what="intake to know the request and the team", interval=0.1)
    assert r.status_code == 201, r.text


async def mails_to(inbox: SmtpInbox, address: str, count: int, what: str) -> list[Any]:
    async def arrived() -> list[Any] | None:
        mails = inbox.to(address)
        return [r.message for r in mails] if len(mails) >= count else None

    return await eventually(arrived, timeout=30, what=what, interval=0.05)


async def test_a_refused_delivery_is_requeued_once_and_sent_once(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    selfheal_settings = migrated_selfheal(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    outbound_settings = run_settings(
        OutboundSettings,
        fresh_database_dsn,
        kafka_bootstrap,
        fresh_topics,
        outbound_methods={SendMethod.webhook},
        outbound_poll_interval_s=0.1,
    )
    outbound_database.migrate(outbound_settings.sqlalchemy_url)
    department = RefusingWebhook(secret=WEBHOOK_SECRET)
    pool = await open_pool(fresh_database_dsn, min_size=1, max_size=2, name="e2e-stuck")
    try:
        with serve_in_thread(department) as department_url:
            await publish_configuration(
                kafka_bootstrap,
                fresh_topics,
                ServiceDefined(service_code="pothole", service_name="Pothole"),
                BodyDefined(
                    body_id="works",
                    name="Public Works",
                    send_method=SendMethod.webhook,
                    service_codes=["pothole"],
                    webhook=WebhookConnection(
                        url=f"{department_url}/hooks/civicloop", secret_ref=WEBHOOK_SECRET_REF
                    ),
                ),
            )
            async with serving(
                (create_intake(intake_settings, staff_verifier=verifier_for_tests()), "http://intake"),
                (create_outbound(outbound_settings, staff_verifier=verifier_for_tests()), "http://outbound"),
                (create_selfheal(selfheal_settings, staff_verifier=verifier_for_tests()), "http://selfheal"),
            ) as (intake, _, selfheal):
                number = await submitted(intake, report({"phone": "+1 213 555 0142"}), "e2e-stuck-refused")
                # The department refused it (a 4xx: not retried), and the department is back.
                await view_holds(pool, number, "view->>'given_up_at' is not null")
                assert department.refused == [number] and department.accepted == []
                department.status = 200

                runs = await cron_storm(selfheal, calls=STORM)
                runs += await cron_storm(selfheal, calls=STORM)
                assert actions_done(runs) == Counter({"requeue": 1}), runs

                async def delivered() -> bool:
                    return department.accepted == [number]

                await eventually(delivered, timeout=30, what="the requeued report sent", interval=0.05)
                await view_holds(pool, number, "view->>'sent_at' is not null")
                # Sent: the next sweeps find nothing to do.
                assert actions_done(await cron_storm(selfheal, calls=STORM)) == Counter()
    finally:
        await pool.close()

    assert department.refused == [number] and department.accepted == [number]
    events = await events_about(kafka_bootstrap, fresh_topics, number)
    requeues = [e for e in events if isinstance(e.payload, DeliveryRequeued)]
    assert [(e.source, e.payload.body_id, e.payload.reason) for e in requeues] == [
        ("selfheal", "works", StuckReason.delivery_given_up)
    ]
    failed = [e.payload for e in events if isinstance(e.payload, SendFailed)]
    assert [(f.body_id, f.retry_at) for f in failed] == [("works", None)]
    sent = [e.payload for e in events if isinstance(e.payload, SentToBackend)]
    assert [(s.body_id, s.attempt) for s in sent] == [("works", 1)]
