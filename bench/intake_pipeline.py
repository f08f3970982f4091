"""Intake and the agent projection, as `make run` runs them: real processes, the real broker, real PostGIS.

1. Intake `POST /api/v1/requests` (answered only after the broker acknowledged, acks=all) in a closed loop, beside the
   same app's no-op endpoint (`GET /healthz`) under the same client and concurrency: the ceiling.
2. Submit-to-projection lag at a steady offered load: from the moment the client sends a POST to the moment the
   agent projection committed the event (its inbox row's time), both on this machine's clock.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import psycopg
from civicloop_events import REGISTRY, ServiceDefined, ServiceRequestSubmitted
from civicloop_events.topics import Topics
from civicloop_testing.events import config_event, publish_events
from civicloop_testing.processes import ServiceProcess

from bench.harness import KAFKA, closed_loop, percentile, scratch_database, scratch_topics, service_env

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


async def run(*, concurrency: int, seconds: float, rate: float, lag_seconds: float) -> list[str]:
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
            limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
            async with httpx.AsyncClient(base_url=intake.url, limits=limits, timeout=30) as client:
                await wait_accepting(client)

                async def noop(_: int) -> bool:
                    return (await client.get("/healthz")).status_code == 200

                async def submit(i: int) -> bool:
                    r = await client.post(
                        "/api/v1/requests",
                        json=REPORT,
                        headers={"Idempotency-Key": f"bench-{i}-{uuid.uuid4()}"},
                    )
                    return r.status_code in (200, 201)

                ceiling = await closed_loop(
                    "intake GET /healthz (no-op ceiling)", noop, concurrency=concurrency, seconds=seconds
                )
                post = await closed_loop(
                    "intake POST /api/v1/requests (acks=all)",
                    submit,
                    concurrency=concurrency,
                    seconds=seconds,
                )
                ratio = (
                    f"{'POST / ceiling':<44} throughput {post.throughput / ceiling.throughput:6.1%}"
                    f"   p99 {post.p(99) / ceiling.p(99):5.1f}x the ceiling's"
                )
                lines.extend(
                    [
                        f"concurrency {concurrency}, {seconds:.0f} s each, same client, same process",
                        ceiling.line(),
                        post.line(),
                        ratio,
                    ]
                )

                sent, errors = await steady_load(client, rate=rate, seconds=lag_seconds)
            lags = await projection_lags(dsn, sent)
            lines.append(
                f"{'submit -> agent projection lag':<44} at {rate:.0f} req/s for {lag_seconds:.0f} s:"
                f"   p50 {percentile(lags, 50):7.2f} ms   p99 {percentile(lags, 99):7.2f} ms"
                f"   ({len(lags)}/{len(sent)} projected, {errors} errors)"
            )
        finally:
            intake.stop()
            projections.stop()
    return lines
