"""Fixtures: the projection against the real broker and the real PostGIS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_projections.bootstrap import Projections
from civicloop_projections.settings import ProjectionSettings
from civicloop_testing.lifecycle import started
from projection_harness import bootstrapped, migrate, settings_for


@pytest.fixture(scope="session")
def migrated_dsn(database_dsn: str) -> str:
    """The run's shared database, migrated once; tests keep apart by jurisdiction and request number."""
    return migrate(database_dsn)


@pytest.fixture
def fresh_migrated_dsn(fresh_database_dsn: str) -> str:
    """A database of the test's own, for tests that count or rebuild whole tables."""
    return migrate(fresh_database_dsn)


@pytest.fixture
def settings(migrated_dsn: str, fresh_topics: Topics, kafka_bootstrap: str) -> ProjectionSettings:
    return settings_for(migrated_dsn, fresh_topics, kafka_bootstrap)


@pytest_asyncio.fixture(loop_scope="session")
async def projections(settings: ProjectionSettings) -> AsyncIterator[Projections]:
    async with bootstrapped(settings) as p:
        yield p


@pytest_asyncio.fixture(loop_scope="session")
async def request_producer(kafka_bootstrap: str, fresh_topics: Topics) -> AsyncIterator[EventProducer]:
    producer = EventProducer(kafka_bootstrap, fresh_topics.request_events, client_id="projections-tests")
    async with started(producer):
        yield producer
