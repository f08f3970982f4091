"""Fixtures: geo against the real PostGIS (and the real broker where a test needs it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from civicloop_geo.database import migrate
from civicloop_geo.settings import GeoSettings
from civicloop_runtime.db import open_pool
from psycopg_pool import AsyncConnectionPool


def sqlalchemy_url(dsn: str) -> str:
    return GeoSettings(pg_dsn=dsn).sqlalchemy_url


@pytest.fixture(scope="session")
def geo_dsn(database_dsn: str) -> str:
    """The run's shared database, migrated once; tests keep apart by jurisdiction id."""
    migrate(sqlalchemy_url(database_dsn))
    return database_dsn


@pytest.fixture
def fresh_geo_dsn(fresh_database_dsn: str) -> str:
    """A database of the test's own, for tests that count whole tables."""
    migrate(sqlalchemy_url(fresh_database_dsn))
    return fresh_database_dsn


@pytest_asyncio.fixture(loop_scope="session")
async def geo_pool(geo_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(geo_dsn, min_size=1, max_size=4, name="geo-tests")
    yield pool
    await pool.close()
