"""Helpers of the projection's integration tests: migrations, settings, running consumers, waiting for them."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from asgi_lifespan import LifespanManager
from civicloop_events import Event, UnknownEventType, decode_event
from civicloop_events.producer import EventProducer, Position
from civicloop_events.topics import Topics
from civicloop_projections.bootstrap import Projections, bootstrap
from civicloop_projections.entrypoints.http import MIGRATIONS, create_app
from civicloop_projections.settings import SCHEMA, ProjectionSettings
from civicloop_runtime import migrations
from civicloop_testing import read_all_records
from civicloop_testing.consumers import assert_applied
from civicloop_testing.events import publish_events
from civicloop_testing.lifecycle import started
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from httpx import ASGITransport, AsyncClient
from psycopg_pool import AsyncConnectionPool


def migrate(dsn: str) -> str:
    migrations.upgrade(ProjectionSettings(pg_dsn=dsn).sqlalchemy_url, MIGRATIONS, SCHEMA)
    return dsn


def settings_for(dsn: str, topics: Topics, kafka_bootstrap: str, **overrides) -> ProjectionSettings:
    tag = uuid.uuid4().hex[:8]
    values = {
        "pg_dsn": dsn,
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": topics.prefix,
        "topic_partitions": topics.partitions,
        # Unique groups per test: a test's consumers never wait on another test's group membership.
        "agent_consumer_name": f"projections.agent.v4.{tag}",
        "catalogue_consumer_name": f"projections.catalogue.v1.{tag}",
        "consumer_backoff_initial_s": 0.01,
        "consumer_backoff_max_s": 0.05,
        "consumer_max_attempts": 3,
        "read_your_writes_timeout_s": 5.0,
    }
    return ProjectionSettings(**{**values, **overrides})


@asynccontextmanager
async def bootstrapped(settings: ProjectionSettings) -> AsyncIterator[Projections]:
    """The real bootstrap with a dead-letter producer of the test's, its consumers not started."""
    producer = EventProducer(
        settings.kafka_bootstrap, settings.topics.dead_letters, client_id="projections-tests"
    )
    async with started(producer):
        projections = await bootstrap(settings, producer=producer, start_consumers=False)
        try:
            yield projections
        finally:
            await projections.close()


@asynccontextmanager
async def consumers_running(projections: Projections) -> AsyncIterator[None]:
    assert projections.consumers is not None
    projections.consumers.start()
    try:
        yield
    finally:
        await projections.consumers.stop()


async def caught_up(projections: Projections, consumer: str, positions: list[Position]) -> None:
    """Wait until `consumer` has applied every position given (the last event of each partition suffices)."""
    await assert_applied(
        projections.pool, schema=SCHEMA, consumer=consumer, positions=positions, timeout_s=45
    )


async def agent_caught_up(projections: Projections, positions: list[Position]) -> None:
    s = projections.settings
    await caught_up(projections, s.agent_consumer_name, positions)


async def catalogue_caught_up(projections: Projections, positions: list[Position]) -> None:
    s = projections.settings
    await caught_up(projections, s.catalogue_consumer_name, positions)


async def config_caught_up(settings: ProjectionSettings, positions: list[Position]) -> None:
    """Wait until the catalogue consumer of an app started on `settings` has applied every position given."""
    async with AsyncConnectionPool(settings.pg_dsn, min_size=1, max_size=1, open=False) as pool:
        await assert_applied(
            pool, schema=SCHEMA, consumer=settings.catalogue_consumer_name, positions=positions, timeout_s=45
        )


async def config_applied(projections: Projections, events: list[Event[Any]]) -> list[Position]:
    """Publish jurisdiction configuration events and wait until the catalogue consumer has applied them all."""
    s = projections.settings
    positions = await publish_events(s.kafka_bootstrap, s.topics.jurisdiction_config, events)
    await catalogue_caught_up(projections, positions)
    return positions


@asynccontextmanager
async def api_client(
    settings: ProjectionSettings, *, jurisdiction_id: str, run_consumer: bool = True
) -> AsyncIterator[AsyncClient]:
    """A client of the app signed in as an agent of `jurisdiction_id` (the agent read API refuses anonymous callers,
    and answers for the token's jurisdiction only)."""
    app = create_app(settings, staff_verifier=verifier_for_tests(), start_consumers=run_consumer)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = ASGITransport(app=manager.app)
        async with AsyncClient(
            transport=transport,
            base_url="http://projections.test",
            headers=staff_headers(None, jurisdiction_id=jurisdiction_id),
        ) as client:
            yield client


async def numbers_of(client: AsyncClient, **params: Any) -> list[str]:
    """The request numbers the agent API lists for these filters (one page of up to 500), sorted."""
    r = await client.get("/api/v1/agent/requests", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return sorted(item["request_number"] for item in r.json()["items"])


async def read_log(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, int, Event[Any]]]:
    """Every decodable event of `topic` as (partition, offset, event), read from offset 0 without a group."""
    out = []
    for r in await read_all_records(bootstrap, topic, partitions):
        try:
            out.append((r.partition, r.offset, decode_event(r.value)))
        except UnknownEventType:
            continue
    return out


def env_for(settings: ProjectionSettings) -> dict[str, str]:
    """The environment that makes a `civicloop-projections` process use these settings."""
    names = (
        "pg_dsn",
        "kafka_bootstrap",
        "topic_prefix",
        "topic_partitions",
        "agent_consumer_name",
        "catalogue_consumer_name",
        "consumer_session_timeout_ms",
        "consumer_backoff_initial_s",
        "consumer_backoff_max_s",
        "consumer_max_attempts",
    )
    return {
        **os.environ,
        **{f"CIVICLOOP_{n.upper()}": str(getattr(settings, n)) for n in names},
        "CIVICLOOP_LOG_LEVEL": "WARNING",
    }


async def query_plan(dsn: str, statement: str, params: Any) -> str:
    """The plan PostgreSQL picks for `statement` when it may not scan a table sequentially (is an index used?)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("set enable_seqscan = off")
        cur = await conn.execute(f"explain {statement}", params)
        return "\n".join(row[0] for row in await cur.fetchall())
