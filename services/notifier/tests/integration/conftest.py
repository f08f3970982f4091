"""Fixtures: the notifier against the real broker and the real PostgreSQL, with recording channel senders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from civicloop_notifier.database import migrate
from civicloop_runtime.db import open_pool
from civicloop_runtime.settings import ServiceSettings
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

PEPPER = b"notifier-tests-pepper-0123456789"


@pytest.fixture(scope="session")
def notifier_dsn(database_dsn: str) -> str:
    """The run's database, migrated once; tests keep apart by request numbers and their own topics."""
    migrate(ServiceSettings(pg_dsn=database_dsn).sqlalchemy_url)  # migrating needs no pepper
    return database_dsn


@pytest_asyncio.fixture(loop_scope="session")
async def notifier_pool(notifier_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(notifier_dsn, min_size=1, max_size=8, name="notifier-tests")
    yield pool
    await pool.close()


@pytest.fixture
def vault(notifier_pool: AsyncConnectionPool) -> ResidentKeyVault:
    return ResidentKeyVault(notifier_pool, pepper=PEPPER)


def consumer_tag() -> str:
    return uuid.uuid4().hex[:8]
