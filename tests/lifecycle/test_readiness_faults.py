"""/readyz tells the truth within seconds, in both directions, when the broker or the database goes and comes back.

The gateway stands for every service with Kafka clients: two producers, the config one idle (an idle aiokafka client
whose connections an outage closed reconnects only at its next metadata refresh, minutes later, unless asked). The
broker is a throwaway one reached through its proxy; the database is the shared one behind a proxy of the test's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_events.topics import Topics, ensure_topics
from civicloop_gateway import database
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import Environment, GatewaySettings
from civicloop_testing.faults import TcpProxy, ThrowawayKafka
from civicloop_testing.run_settings import run_settings

# A broker or database of the test's own is stopped or cut off: the fault suite (`make test-faults`), not `make test`.
pytestmark = [pytest.mark.integration, pytest.mark.faults]

TRUTH_WITHIN_S = 5.0  # issue 11: readiness right within 5 s of the change
PROBE_EVERY_S = 0.5  # what a kubelet's readiness probe might do, faster than its usual period


@asynccontextmanager
async def gateway(dsn: str, kafka: str, topics: Topics) -> AsyncIterator[httpx.AsyncClient]:
    settings = run_settings(GatewaySettings, dsn, kafka, topics, env=Environment.test)
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as client,
    ):
        yield client


async def ready_at_first(client: httpx.AsyncClient, timeout_s: float = 60) -> None:
    """A fresh broker elects its group coordinator before the consumers start: ready once they have."""
    deadline = time.monotonic() + timeout_s
    while (answer := await client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, f"the gateway never became ready: {answer.json()}"
        await asyncio.sleep(PROBE_EVERY_S)


async def seconds_until(client: httpx.AsyncClient, check: str, expected: bool) -> float:
    """Probe /readyz until `check` reads `expected`; the seconds it took (fails past twice the bound)."""
    started = time.monotonic()
    while time.monotonic() - started < 2 * TRUTH_WITHIN_S:
        answer = (await client.get("/readyz")).json()
        if answer["checks"].get(check) is expected:
            assert answer["status"] == ("ready" if all(answer["checks"].values()) else "not ready")
            return time.monotonic() - started
        await asyncio.sleep(PROBE_EVERY_S)
    pytest.fail(f"/readyz still said {check}={not expected} after {2 * TRUTH_WITHIN_S:.0f} s")


@pytest.fixture(scope="module")
def migrated_dsn(database_dsn: str) -> str:
    database.migrate(GatewaySettings(env=Environment.test, pg_dsn=database_dsn).sqlalchemy_url)
    return database_dsn


async def test_kafka_reads_false_within_seconds_of_the_outage_and_true_within_seconds_of_its_end(
    migrated_dsn,
):
    async with ThrowawayKafka() as kafka:
        topics = Topics(prefix="ready.", partitions=1)
        await ensure_topics(kafka.bootstrap, topics)
        async with gateway(migrated_dsn, kafka.bootstrap, topics) as client:
            await ready_at_first(client)
            # Leave both producers idle long enough for nothing but the probe to notice.
            await asyncio.sleep(1)

            await kafka.proxy.cut()
            assert await seconds_until(client, "kafka", False) < TRUTH_WITHIN_S
            assert (await client.get("/readyz")).status_code == 503

            await asyncio.sleep(
                3
            )  # an outage longer than a probe's timeout: the clients' retries have failed
            await kafka.proxy.restore()
            assert await seconds_until(client, "kafka", True) < TRUTH_WITHIN_S
            assert (await client.get("/readyz")).status_code == 200


async def test_the_database_reads_false_within_seconds_of_the_outage_and_true_within_seconds_of_its_end(
    migrated_dsn, kafka_bootstrap, fresh_topics
):
    url = urlsplit(migrated_dsn)
    async with TcpProxy(url.hostname or "127.0.0.1", url.port or 5432) as proxy:
        # A URL still (the migrations check builds SQLAlchemy's from it), through the proxy.
        through_proxy = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}"))
        async with gateway(through_proxy, kafka_bootstrap, fresh_topics) as client:
            await ready_at_first(client)

            await proxy.cut()
            assert await seconds_until(client, "database", False) < TRUTH_WITHIN_S

            await asyncio.sleep(8)  # long enough for the pool's reconnection attempts to back off
            await proxy.restore()
            assert await seconds_until(client, "database", True) < TRUTH_WITHIN_S
            assert (await client.get("/readyz")).status_code == 200
