"""Intake as `make run` runs it (its own process) on a broker of the test's own, with a pothole in its catalogue and
without the per-client limit (a test's load comes from one address): what the fault tests here put under load."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest_asyncio
from civicloop_events import ServiceDefined
from civicloop_events.topics import Topics
from civicloop_intake import database
from civicloop_intake.settings import IntakeSettings
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import config_event, publish_events
from civicloop_testing.faults import ThrowawayKafka
from civicloop_testing.polling import eventually
from civicloop_testing.processes import ServiceProcess
from civicloop_testing.run_settings import cli_env, run_settings

BODY = {"service_code": "pothole", "description": "Fault trial", "lat": 34.05, "long": -118.24}


@dataclass
class IntakeAlone:
    kafka: ThrowawayKafka
    topics: Topics
    process: ServiceProcess

    @property
    def submit_url(self) -> str:
        return f"{self.process.url}/api/v1/requests"

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid

    async def accepts(self, http: httpx.AsyncClient) -> bool:
        """A new submission is accepted now (201)."""
        headers = {"Idempotency-Key": f"probe-{uuid.uuid4()}"}
        return (await http.post(self.submit_url, json=BODY, headers=headers, timeout=12)).status_code == 201


StartIntake = Callable[..., Awaitable[IntakeAlone]]


@pytest_asyncio.fixture
async def intake_alone(pg_admin_dsn: str) -> AsyncIterator[StartIntake]:
    """`await intake_alone(name, **env)`: started, its catalogue folded, accepting submissions; stopped after."""
    started: list[tuple[ServiceProcess, str]] = []
    async with ThrowawayKafka() as kafka:
        topics = await make_topics(kafka.bootstrap)

        async def start(name: str, **env: str) -> IntakeAlone:
            dsn = create_database(pg_admin_dsn, prefix=f"cl_{name}")
            settings = run_settings(IntakeSettings, dsn, kafka.bootstrap, topics)
            database.migrate(settings.sqlalchemy_url)
            process_env = cli_env(
                settings, CIVICLOOP_LOG_LEVEL="WARNING", CIVICLOOP_RATE_LIMIT_PER_CLIENT="", **env
            )
            process = ServiceProcess("intake", "civicloop-intake", process_env, log_prefix=name)
            started.append((process, dsn))
            process.start()
            await process.wait_ready()
            pothole = config_event(ServiceDefined(service_code="pothole", service_name="Pothole"), admin=name)
            await publish_events(kafka.bootstrap, topics.jurisdiction_config, [pothole])
            intake = IntakeAlone(kafka, topics, process)
            async with httpx.AsyncClient() as http:
                await eventually(lambda: intake.accepts(http), timeout=60, what="intake to accept a report")
            return intake

        try:
            yield start
        finally:
            for process, dsn in started:
                process.stop()
                drop_database(pg_admin_dsn, dsn)
