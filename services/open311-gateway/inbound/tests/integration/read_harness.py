"""Helpers of the read side's integration tests: the real gateway app on a migrated database of the run's own and
topics of the test's own on the real broker; events published with the real producer; waiting for the view."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from asgi_lifespan import LifespanManager
from civicloop_events import Actor, Event
from civicloop_events.consumer import read_positions
from civicloop_events.envelope import ActorKind
from civicloop_events.producer import EventProducer, Position
from civicloop_events.topics import Topics
from civicloop_gateway import database
from civicloop_gateway.bootstrap import Gateway
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import SCHEMA, Environment, GatewaySettings
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel

AGENT = Actor(kind=ActorKind.agent, id="agent-1")
SYSTEM = Actor(kind=ActorKind.system, id="catalogue")


def migrate(dsn: str) -> str:
    database.migrate(GatewaySettings(env=Environment.test, pg_dsn=dsn).sqlalchemy_url)
    return dsn


def settings_for(dsn: str, topics: Topics, kafka_bootstrap: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "env": Environment.test,
        "pg_dsn": dsn,
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": topics.prefix,
        "topic_partitions": topics.partitions,
        "consumer_backoff_initial_s": 0.01,
        "consumer_backoff_max_s": 0.05,
        "consumer_max_attempts": 3,
        "read_your_writes_timeout_s": 5.0,
        "public_base_url": "https://open311.springfield.example.gov",
    }
    return GatewaySettings(**{**values, **overrides})


def unique_jurisdiction(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}.example.gov"


def event(
    payload: BaseModel,
    *,
    jurisdiction_id: str,
    request_id: str | None = None,
    at: datetime | None = None,
    source: str = "web",
    actor: Actor = AGENT,
) -> Event[Any]:
    return Event.create(
        payload,
        request_id=request_id,
        jurisdiction_id=jurisdiction_id,
        actor=actor,
        source=source,
        occurred_at=at,
    )


@asynccontextmanager
async def producer(kafka_bootstrap: str, topic: str) -> AsyncIterator[EventProducer]:
    p = EventProducer(kafka_bootstrap, topic, client_id="gateway-read-tests")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 45, what: str = "condition"
) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


async def caught_up(gateway: Gateway, consumer: str, positions: list[Position]) -> None:
    """Wait until `consumer` has applied every position given."""
    last: dict[tuple[str, int], int] = {}
    for p in positions:
        last[(p.topic, p.partition)] = max(last.get((p.topic, p.partition), -1), p.offset)

    async def applied() -> bool:
        async with gateway.pool.connection() as conn:
            for (topic, partition), offset in last.items():
                stored = await read_positions(conn, SCHEMA, consumer, topic)
                if stored.get(partition, 0) <= offset:
                    return False
        return True

    await wait_for(applied, what=f"{consumer} at {last}")


@asynccontextmanager
async def running_app(
    settings: GatewaySettings, *, start_consumers: bool = True
) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    app = create_app(settings, start_consumers=start_consumers)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = ASGITransport(app=manager.app)
        async with AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield app, client
