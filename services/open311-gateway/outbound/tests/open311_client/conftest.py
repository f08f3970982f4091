"""Fixtures of the Open311 client tests: a migrated database and topics of this run's own, a producer on them, an
httpx client, and the deviant Open311 server (reset for every test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_outbound.entrypoints.cli import app as cli
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.lifecycle import started
from civicloop_testing.threaded_server import serve_in_thread
from late_server import LateState, late_app
from o311client_harness import DeviantState, deviant_app
from psycopg_pool import AsyncConnectionPool
from typer.testing import CliRunner


@pytest.fixture(scope="session")
def o311_dsn(pg_admin_dsn: str) -> Iterator[str]:
    dsn = create_database(pg_admin_dsn, prefix="cl_o311client")
    result = CliRunner().invoke(cli, ["migrate"], env={"CIVICLOOP_PG_DSN": dsn, "CIVICLOOP_ENV": "test"})
    assert result.exit_code == 0, f"migrate failed: {result.output}\n{result.exception!r}"
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def o311_pool(o311_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(o311_dsn, min_size=1, max_size=6, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def o311_topics(kafka_bootstrap: str) -> Topics:
    return await make_topics(kafka_bootstrap)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def o311_producer(kafka_bootstrap: str, o311_topics: Topics) -> AsyncIterator[EventProducer]:
    async with started(
        EventProducer(kafka_bootstrap, o311_topics.request_events, client_id="o311client-tests")
    ) as p:
        yield p


@pytest_asyncio.fixture(loop_scope="session")
async def o311_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def deviant_server() -> Iterator[tuple[DeviantState, str]]:
    state = DeviantState()
    with serve_in_thread(deviant_app(state)) as url:
        yield state, url


@pytest.fixture
def deviant(
    deviant_server: tuple[DeviantState, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[DeviantState, str]:
    state, url = deviant_server
    state.reset()
    monkeypatch.setenv("CIVICLOOP_SECRET_DEVIANT_KEY", state.api_key)
    return state, url


@pytest.fixture
def late() -> Iterator[tuple[LateState, str]]:
    """A back-end that publishes requests late (`late_server`), on a virtual clock starting at `late_harness.T0`."""
    from late_harness import T0

    state = LateState(now=T0)
    with serve_in_thread(late_app(state)) as url:
        yield state, url
