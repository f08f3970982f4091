"""`POST /api/cron/self-heal` on the real broker and database: who may call it, and a cron storm (100 concurrent calls)
that escalates each stuck request once. The requests are stuck in real time (their events written hours ago)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import Location, ServiceRequestSubmitted
from civicloop_runtime.cron import CRON_TOKEN_HEADER
from civicloop_selfheal.entrypoints.http import create_app
from civicloop_testing.events import request_event
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from selfheal_harness import (
    CRON_ENV,
    CRON_TOKEN,
    config_folded,
    folded,
    publish,
    selfheal_events,
    selfheal_settings,
)
from test_selfheal_sweep import number, sla

pytestmark = pytest.mark.integration

RESIDENT = Actor(kind=ActorKind.resident, id="resident-1")


def stuck_requests(jurisdiction: str, count: int) -> tuple[list[str], list[Event[Any]]]:
    """`count` requests submitted three hours ago and never acknowledged (their target: one hour)."""
    hours_ago = datetime.now(UTC) - timedelta(hours=3)
    numbers = [number() for _ in range(count)]
    payload = ServiceRequestSubmitted(
        service_code="pothole", description="a hole", location=Location(lat=41.88, long=-87.63)
    )
    events = [
        request_event(
            payload,
            request_id=n,
            actor=RESIDENT,
            source="web",
            jurisdiction_id=jurisdiction,
            occurred_at=hours_ago,
        )
        for n in numbers
    ]
    return numbers, [sla(jurisdiction), *events]


async def runs_recorded(app: Any) -> list[tuple[str, str | None]]:
    async with app.state.service.pool.connection() as conn:
        cur = await conn.execute("select trigger, staff_id from selfheal.runs order by started_at")
        return [(r[0], r[1]) for r in await cur.fetchall()]


async def test_missing_or_wrong_credentials_are_refused_and_nothing_runs_an_admin_runs_it_now(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CRON_ENV.items():
        monkeypatch.setenv(name, value)
    settings = selfheal_settings(fresh_database_dsn, kafka_bootstrap, fresh_topics)
    j = f"j{uuid4().hex[:8]}"
    numbers, events = stuck_requests(j, 2)
    app = create_app(settings, staff_verifier=verifier_for_tests())
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://selfheal.test") as client,
    ):
        await publish(settings, events)
        await folded(app.state.service, numbers)
        await config_folded(app.state.service, "select count(*) = 1 from selfheal.sla_definitions")
        refused = {
            "nothing": await client.post("/api/cron/self-heal"),
            "a wrong cron token": await client.post(
                "/api/cron/self-heal", headers={CRON_TOKEN_HEADER: "guess"}
            ),
            "an agent": await client.post("/api/cron/self-heal", headers=staff_headers(None, "agent")),
            "an auditor": await client.post("/api/cron/self-heal", headers=staff_headers(None, "auditor")),
            "a token not valid": await client.post(
                "/api/cron/self-heal", headers={"Authorization": "Bearer x"}
            ),
        }
        assert {k: r.status_code for k, r in refused.items()} == {
            "nothing": 401,
            "a wrong cron token": 403,
            "an agent": 403,
            "an auditor": 403,
            "a token not valid": 401,
        }
        assert await runs_recorded(app) == []
        assert await selfheal_events(settings) == []

        admin = uuid4()
        ran = await client.post("/api/cron/self-heal", headers=staff_headers(admin, "admin"))
        assert ran.status_code == 200, ran.text
        assert ran.json()["found"] == {"unacknowledged": 2}
        assert ran.json()["done"] == {"escalate": 2, "declare_late": 2}
        assert await runs_recorded(app) == [("admin", str(admin))]
        listed = await client.get("/api/v1/selfheal/runs", headers=staff_headers(None, "auditor"))
        assert listed.status_code == 200
        [run] = listed.json()["runs"]
        assert (run["trigger"], run["staff_id"], run["outcome"]) == ("admin", str(admin), "done")
        assert (
            await client.get("/api/v1/selfheal/runs", headers=staff_headers(None, "agent"))
        ).status_code == 403
        metrics = (await client.get("/metrics")).text
        assert 'civicloop_selfheal_actions_total{action="escalate"}' in metrics


async def test_a_cron_storm_of_100_concurrent_calls_escalates_each_request_once(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CRON_ENV.items():
        monkeypatch.setenv(name, value)
    settings = selfheal_settings(fresh_database_dsn, kafka_bootstrap, fresh_topics)
    j = f"j{uuid4().hex[:8]}"
    numbers, events = stuck_requests(j, 20)
    app = create_app(settings, staff_verifier=verifier_for_tests())
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://selfheal.test", timeout=60
        ) as client,
    ):
        await publish(settings, events)
        await folded(app.state.service, numbers)
        await config_folded(app.state.service, "select count(*) = 1 from selfheal.sla_definitions")
        answers = await asyncio.gather(
            *(client.post("/api/cron/self-heal", headers={CRON_TOKEN_HEADER: CRON_TOKEN}) for _ in range(100))
        )
        codes = Counter(a.status_code for a in answers)
        assert set(codes) <= {200, 409} and codes[200] >= 1, codes
        assert sum(1 for a in answers if a.status_code == 200 and a.json()["done"]) == 1
        assert all(a.json()["error"] == "busy" for a in answers if a.status_code == 409)
    escalated = Counter(
        e.request_id for e in await selfheal_events(settings) if e.type == "request.escalated"
    )
    assert escalated == Counter(dict.fromkeys(numbers, 1))
    told = Counter(e.request_id for e in await selfheal_events(settings) if e.type == "request.declared_late")
    assert told == Counter(dict.fromkeys(numbers, 1))


async def test_runs_older_than_the_kept_days_go_as_a_new_run_starts(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CRON_ENV.items():
        monkeypatch.setenv(name, value)
    settings = selfheal_settings(fresh_database_dsn, kafka_bootstrap, fresh_topics).model_copy(
        update={"selfheal_runs_kept_days": 30}
    )
    app = create_app(settings, staff_verifier=verifier_for_tests())
    now = datetime.now(UTC)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://selfheal.test") as client,
    ):
        async with app.state.service.pool.connection() as conn:
            for trigger, age in (("cron", timedelta(days=31)), ("schedule", timedelta(days=29))):
                await conn.execute(
                    "insert into selfheal.runs (run_id, trigger, started_at) values (%s, %s, %s)",
                    (uuid4(), trigger, now - age),
                )
        ran = await client.post("/api/cron/self-heal", headers={CRON_TOKEN_HEADER: CRON_TOKEN})
        assert ran.status_code == 200, ran.text
        assert await runs_recorded(app) == [("schedule", None), ("cron", None)]
