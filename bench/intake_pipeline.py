"""Intake and the agent projection, as `make run` runs them: real processes, the real broker, real PostGIS.

1. Intake `POST /api/v1/requests` (answered only after the broker acknowledged, acks=all) in a closed loop driven by
   wrk, every request with an Idempotency-Key of its own, beside the same app's no-op endpoint (`GET /healthz`)
   under the same load generator and connections: the ceiling. Around each phase, the CPU of every process involved
   (intake, the projections, the broker, PostgreSQL) per accepted request.
2. Submit-to-projection lag at a steady offered load, once the projection has folded the POST phase's backlog
   (how long that took is printed too): from the moment the client sends a POST to the moment the
   agent projection committed the event (its inbox row's time), both on this machine's clock.
3. The residents' pages on the same process, under the same load and beside the same ceiling: the report form
   (`GET /report`, rendered from the catalogue), a report sent as the page's form (`POST /report`, url-encoded,
   each with a key of its own, answered 303 once on the log) and the track form (`GET /track`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import psycopg
from civicloop_events import REGISTRY, ServiceDefined, ServiceRequestSubmitted
from civicloop_events.topics import Topics
from civicloop_testing.events import config_event, publish_events
from civicloop_testing.processes import ServiceProcess

from bench.cpu import CpuMeter, Watch
from bench.harness import (
    KAFKA,
    database_name,
    measured,
    percentile,
    scratch_database,
    scratch_topics,
    service_env,
    service_pids,
)
from bench.wrk import Load, WrkResult, ratio

# The report page's form as a browser without JavaScript sends it (no photo): wrk's post.lua fills the key and place.
REPORT_FORM = (
    "idempotency_key=page-{unique}&service_code=pothole&description=Deep+pothole+{unique}"
    "&lat={lat}&lng={long}&preferred_channel=none&lang=en"
)

REPORT = {
    "service_code": "pothole",
    "description": "Deep pothole in the bus lane",
    "lat": 34.0522,
    "long": -118.2437,
}


async def seed_catalogue(topics: Topics) -> None:
    pothole = config_event(ServiceDefined(service_code="pothole", service_name="Pothole"), admin="bench")
    await publish_events(KAFKA, topics.jurisdiction_config, [pothole])


async def wait_accepting(client: httpx.AsyncClient, timeout: float = 60) -> None:
    """Intake learns its catalogue from the log; wait until it accepts the bench's service code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await client.post(
            "/api/v1/requests", json=REPORT, headers={"Idempotency-Key": f"warm-{uuid.uuid4()}"}
        )
        if r.status_code in (200, 201):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"intake never accepted the bench report: {r.status_code} {r.text}")


async def steady_load(
    client: httpx.AsyncClient, *, rate: float, seconds: float
) -> tuple[dict[str, float], int]:
    """Send at a fixed rate (open loop): request number -> wall-clock send time."""
    sent: dict[str, float] = {}
    errors = 0
    interval = 1 / rate

    async def one(i: int) -> None:
        nonlocal errors
        t_send = time.time()
        r = await client.post(
            "/api/v1/requests", json=REPORT, headers={"Idempotency-Key": f"lag-{i}-{uuid.uuid4()}"}
        )
        if r.status_code in (200, 201):
            sent[r.json()["request_number"]] = t_send
        else:
            errors += 1

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return sent, errors


async def projection_lags(dsn: str, sent: dict[str, float], timeout: float = 120) -> list[float]:
    deadline = time.monotonic() + timeout
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while True:
            cur = await conn.execute(
                "select h.request_number, extract(epoch from i.applied_at)"
                " from projections.agent_request_history h join projections.inbox i using (event_id)"
                " where h.request_number = any(%s) and h.type = any(%s)",
                (list(sent), REGISTRY.names_of(ServiceRequestSubmitted.event_type)),
            )
            rows = await cur.fetchall()
            if len(rows) == len(sent) or time.monotonic() > deadline:
                return [(float(applied) - sent[number]) * 1000 for number, applied in rows]
            await asyncio.sleep(0.5)


async def published_submissions(dsn: str) -> int:
    """Submissions intake kept under their key and saw acknowledged: one per accepted POST when keys are unique."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("select count(*) from intake.submissions where state = 'published'")
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def wait_projected(dsn: str, count: int, timeout: float = 600) -> float:
    """Wait until the agent projection holds `count` submissions; seconds it took."""
    started = time.monotonic()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            cur = await conn.execute(
                "select count(*) from projections.agent_request_history where type = any(%s)",
                (REGISTRY.names_of(ServiceRequestSubmitted.event_type),),
            )
            row = await cur.fetchone()
            if row and row[0] >= count:
                return time.monotonic() - started
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the agent projection did not reach {count} submissions in {timeout:.0f} s")


async def residents_pages(meter: CpuMeter, url: str, load: Load, ceiling: WrkResult) -> list[str]:
    """The residents' pages, each beside the no-op ceiling of the same run."""
    lines: list[str] = []
    for name, path, post in (
        ("intake GET /report (the report form)", "/report", None),
        (
            "intake POST /report (the form, acks=all)",
            "/report",
            ("application/x-www-form-urlencoded", REPORT_FORM),
        ),
        ("intake GET /track (the track form)", "/track", None),
    ):
        phase_lines, result = await measured(meter, name, f"{url}{path}", load, post=post)
        lines += [*phase_lines, ratio(result, ceiling)]
    return lines


async def run(*, load: Load, rate: float, lag_seconds: float) -> list[str]:
    lines: list[str] = []
    with scratch_database() as dsn:
        topics = await scratch_topics()
        env = service_env(dsn, topics)
        intake = ServiceProcess("intake", "civicloop-intake", env, log_prefix="bench")
        projections = ServiceProcess("public-projections", "civicloop-projections", env, log_prefix="bench")
        intake.run_cli("migrate")
        projections.run_cli("migrate")
        await seed_catalogue(topics)
        try:
            intake.start()
            projections.start()
            await asyncio.gather(intake.wait_ready(), projections.wait_ready())
            async with httpx.AsyncClient(base_url=intake.url, timeout=30) as client:
                await wait_accepting(client)
            meter = CpuMeter(Watch(services=service_pids(intake, projections), database=database_name(dsn)))
            lines.append(
                f"wrk: {load.threads} threads, {load.connections} connections, {load.seconds:g} s each, same run"
            )
            ceiling_lines, ceiling = await measured(
                meter, "intake GET /healthz (no-op ceiling)", f"{intake.url}/healthz", load
            )
            kept_before = await published_submissions(dsn)
            post_lines, post = await measured(
                meter,
                "intake POST /api/v1/requests (acks=all)",
                f"{intake.url}/api/v1/requests",
                load,
                post=("application/json", json.dumps(REPORT)),
            )
            kept = await published_submissions(dsn) - kept_before
            lines += [*ceiling_lines, *post_lines]
            lines.append(
                f"   intake kept and published {kept} new submissions for {post.accepted} accepted answers"
            )
            lines.append(ratio(post, ceiling))

            # The lag phase starts on an idle pipeline: the projection first folds the POST phase's backlog.
            caught_up_s = await wait_projected(dsn, await published_submissions(dsn))
            lines.append(
                f"   the agent projection caught up with every submission {caught_up_s:.1f} s after the POST phase"
            )

            # Open loop at a fixed rate from Python: at tens of requests per second the client is far from its
            # limit, and it needs each request's send time beside the number intake answered with.
            async with httpx.AsyncClient(base_url=intake.url, timeout=30) as client:
                meter.start()
                sent, errors = await steady_load(client, rate=rate, seconds=lag_seconds)
                usage = meter.stop()
            lags = await projection_lags(dsn, sent)
            lines.append(
                f"{'submit -> agent projection lag':<44} at {rate:.0f} req/s for {lag_seconds:.0f} s (open loop):"
                f"   p50 {percentile(lags, 50):7.2f} ms   p99 {percentile(lags, 99):7.2f} ms"
                f"   ({len(lags)}/{len(sent)} projected, {errors} errors)"
            )
            lines.append(usage.per_request_line(len(sent)))
            lines += await residents_pages(meter, intake.url, load, ceiling)
        finally:
            intake.stop()
            projections.stop()
    return lines
