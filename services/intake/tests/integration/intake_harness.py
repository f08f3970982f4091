"""An intake app per test on the real broker (topics of its own) and the run's PostGIS database, migrated once.

Fixtures are re-exported by conftest.py; helpers are imported from here by name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
from aiokafka.structs import ConsumerRecord
from asgi_lifespan import LifespanManager
from civicloop_events import Actor, PersonalData, ServiceDefined
from civicloop_events.payloads import AttributeDatatype, AttributeValue, ServiceAttribute
from civicloop_events.payloads.staff import DisableReason, StaffCreated, StaffDisabled, TeamDefined
from civicloop_events.personal_data import new_key, seal
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_intake import database
from civicloop_intake.adapters.postgres_catalogue import CATALOGUE_CONSUMER
from civicloop_intake.adapters.postgres_staff import STAFF_CONSUMER
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing import read_all_records as read_all
from civicloop_testing.consumers import assert_applied
from civicloop_testing.events import request_event
from civicloop_testing.lifecycle import started
from civicloop_testing.staff_tokens import verifier_for_tests
from psycopg_pool import AsyncConnectionPool

AGENT = Actor(kind="agent", id="agent-7")
SERVICES = [
    ServiceDefined(
        service_code="pothole",
        service_name="Pothole",
        attributes=[
            ServiceAttribute(
                code="depth",
                datatype=AttributeDatatype.singlevaluelist,
                values=[
                    AttributeValue(key="shallow", name="Shallow"),
                    AttributeValue(key="deep", name="Deep"),
                ],
            ),
        ],
    ),
    ServiceDefined(service_code="graffiti", service_name="Graffiti", active=False),
]


@pytest.fixture(scope="session")
def migrated_dsn(database_dsn: str) -> str:
    database.migrate(IntakeSettings(env=Environment.test, pg_dsn=database_dsn).sqlalchemy_url)
    return database_dsn


def pothole_at_a_point(phone: str) -> dict[str, Any]:
    """A submission body: a pothole at a point, by a resident who wants texts at `phone`."""
    return {
        "service_code": "pothole",
        "description": "Deep hole",
        "lat": 38.9,
        "long": -77.0,
        "contact": {"phone": phone},
        "preferred_channel": "sms",
    }


def intake_settings(dsn: str, bootstrap: str, topics: Topics, **overrides: Any) -> IntakeSettings:
    return IntakeSettings(
        env=Environment.test,
        pg_dsn=dsn,
        kafka_bootstrap=bootstrap,
        topic_prefix=topics.prefix,
        topic_partitions=topics.partitions,
        read_your_writes_timeout_s=1.5,
        **overrides,
    )


@asynccontextmanager
async def running(settings: IntakeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, staff_verifier=verifier_for_tests())
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30) as client:
            yield client


@dataclass
class Harness:
    client: httpx.AsyncClient
    settings: IntakeSettings
    topics: Topics
    producer: EventProducer
    pool: AsyncConnectionPool

    async def publish(self, payload: Any, *, request_id: str | None, topic: str | None = None) -> Any:
        event = request_event(payload, request_id=request_id, actor=AGENT, source="agent")
        return await self.producer.publish(event, topic=topic)

    async def submit(self, description: str, *, address: str, contact: dict[str, str]) -> str:
        """A pothole report at an address, through the API; its request number."""
        body = {
            "service_code": "pothole",
            "description": description,
            "address_string": address,
            "contact": contact,
        }
        r = await self.client.post("/api/v1/requests", json=body)
        assert r.status_code == 201, r.text
        return r.json()["request_number"]

    async def staff(
        self,
        *,
        teams: dict[str, bool] | None = None,
        members: dict[UUID, tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
        disabled: tuple[UUID, ...] = (),
        jurisdiction_id: str = "demo",
    ) -> None:
        """Teams (id: active) and staff members (id: (roles, teams)) of the jurisdiction, some disabled, on the log
        as an admin would put them, and folded into intake's staff store (whom an assignment may name)."""
        admin = Actor(kind="system", id="staff-cli:tests")
        payloads: list[Any] = [
            TeamDefined(team_id=team, name=team.title(), active=active)
            for team, active in (teams or {}).items()
        ]
        payloads += [
            StaffCreated(
                staff_id=staff_id,
                contact=seal(PersonalData(), resident_id=staff_id, key=new_key()),
                roles=list(roles),
                teams=list(member_teams),
            )
            for staff_id, (roles, member_teams) in (members or {}).items()
        ]
        payloads += [StaffDisabled(staff_id=staff_id, reason=DisableReason.left) for staff_id in disabled]
        positions = []
        for payload in payloads:
            event = request_event(
                payload, request_id=None, actor=admin, source="admin", jurisdiction_id=jurisdiction_id
            )
            positions.append(await self.producer.publish(event, topic=self.topics.jurisdiction_config))
        consumer = self.topics.prefix + STAFF_CONSUMER
        await assert_applied(self.pool, schema="intake", consumer=consumer, positions=positions)

    async def records(self) -> list[ConsumerRecord]:
        return await read_all(
            self.settings.kafka_bootstrap, self.topics.request_events, self.topics.partitions
        )


@pytest_asyncio.fixture(loop_scope="session")
async def producer(kafka_bootstrap: str, fresh_topics: Topics) -> AsyncIterator[EventProducer]:
    async with started(
        EventProducer(kafka_bootstrap, fresh_topics.request_events, client_id="intake-tests")
    ) as p:
        yield p


@pytest_asyncio.fixture(loop_scope="session")
async def intake(
    migrated_dsn: str,
    kafka_bootstrap: str,
    fresh_topics: Topics,
    producer: EventProducer,
    pool: AsyncConnectionPool,
) -> AsyncIterator[Harness]:
    """A running intake whose catalogue has an active `pothole` and a withdrawn `graffiti`."""
    settings = intake_settings(migrated_dsn, kafka_bootstrap, fresh_topics)
    async with running(settings) as client:
        harness = Harness(client, settings, fresh_topics, producer, pool)
        positions = [
            await harness.publish(service, request_id=None, topic=fresh_topics.jurisdiction_config)
            for service in SERVICES
        ]
        catalogue = fresh_topics.prefix + CATALOGUE_CONSUMER
        await assert_applied(pool, schema="intake", consumer=catalogue, positions=positions)
        yield harness
