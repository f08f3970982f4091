"""Helpers of the read side's integration tests: the real gateway app on a migrated database of the run's own and
topics of the test's own on the real broker; events published with the real producer; waiting for the view."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from civicloop_events import Actor
from civicloop_events.consumer import read_positions
from civicloop_events.envelope import ActorKind
from civicloop_events.producer import Position
from civicloop_events.topics import Topics
from civicloop_gateway import database
from civicloop_gateway.bootstrap import Gateway
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import SCHEMA, Environment, GatewaySettings
from civicloop_testing.asgi import serving
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import cli_env, run_settings
from fastapi import FastAPI
from httpx import AsyncClient

AGENT = Actor(kind=ActorKind.agent, id="agent-1")
CATALOGUE_ADMIN = "catalogue"  # the administrator who publishes the configuration


def migrate(dsn: str) -> str:
    database.migrate(GatewaySettings(env=Environment.test, pg_dsn=dsn).sqlalchemy_url)
    return dsn


def settings_for(dsn: str, topics: Topics, kafka_bootstrap: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "consumer_backoff_initial_s": 0.01,
        "consumer_backoff_max_s": 0.05,
        "consumer_max_attempts": 3,
        "read_your_writes_timeout_s": 5.0,
        "public_base_url": "https://open311.springfield.example.gov",
    }
    return run_settings(GatewaySettings, dsn, kafka_bootstrap, topics, **{**values, **overrides})


def unique_jurisdiction(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}.example.gov"


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

    await eventually(applied, what=f"{consumer} at {last}")


@asynccontextmanager
async def running_app(
    settings: GatewaySettings, *, start_consumers: bool = True
) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    app = create_app(settings, start_consumers=start_consumers)
    async with serving(app, "http://gateway.test", shutdown_timeout=60) as client:
        yield app, client


async def run_cli(settings: GatewaySettings, *args: str) -> tuple[int, str, str]:
    """`civicloop-gateway <args>` in a process of its own, configured as `settings`: its exit code, out and err."""
    env = {
        **os.environ,
        **cli_env(
            settings,
            CIVICLOOP_TOPIC_PARTITIONS=str(settings.topic_partitions),
            CIVICLOOP_PUBLIC_H3_RESOLUTION=str(settings.public_h3_resolution),
            CIVICLOOP_LOG_LEVEL="WARNING",
        ),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_gateway.entrypoints.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()
