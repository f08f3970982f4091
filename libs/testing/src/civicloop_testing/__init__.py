"""Fixtures that give each test run its own database and topics on the real broker and the real PostGIS.

Nothing here fakes Kafka or PostgreSQL: when they are not running, integration tests fail with the command to run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from civicloop_events.kafka_connection import client_options
from civicloop_events.topics import Topics, ensure_topics
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from civicloop_testing import topic_cleanup

KAFKA = os.environ.get("CIVICLOOP_KAFKA_BOOTSTRAP", "127.0.0.1:21092")
ADMIN_DSN = os.environ.get("CIVICLOOP_PG_DSN", "postgresql://postgres@127.0.0.1:21432/civicloop")


def shared_dir() -> Path | None:
    """`../shared` beside the checkout (real boundaries and requests), or None in a user's clone."""
    env = os.environ.get("CIVICLOOP_SHARED_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[4] / ".." / "shared")
    for c in candidates:
        if (c / "data").is_dir():
            return c.resolve()
    return None


def _dsn_with_db(dsn: str, db: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{db}"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return KAFKA


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=5) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {ADMIN_DSN} ({exc}); start it with `make up`", pytrace=False
        )
    return ADMIN_DSN


def create_database(admin_dsn: str, prefix: str = "cl_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = _dsn_with_db(admin_dsn, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create extension if not exists postgis")
    return dsn


def drop_database(admin_dsn: str, dsn: str) -> None:
    name = dsn.rpartition("/")[2]
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def database_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A database of this test run's own, with PostGIS, dropped at the end."""
    dsn = create_database(pg_admin_dsn)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest.fixture
def fresh_database_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A database for one test (for tests that rebuild or count everything)."""
    dsn = create_database(pg_admin_dsn)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


async def make_topics(bootstrap: str, partitions: int = 3) -> Topics:
    topics = Topics(prefix=f"t{uuid.uuid4().hex[:10]}.", partitions=partitions)
    topic_cleanup.remember(bootstrap, topics.prefix)
    try:
        await asyncio.wait_for(ensure_topics(bootstrap, topics, timeout_s=30), timeout=45)
    except Exception as exc:
        pytest.fail(
            f"Kafka is not reachable at {bootstrap} ({exc!r}); start it with `make up`", pytrace=False
        )
    return topics


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The session's topics go with it (see `topic_cleanup`)."""
    topic_cleanup.delete_created()


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_topics(kafka_bootstrap: str) -> Topics:
    """Topics of this test's own on the real broker (a unique prefix), so tests never see each other's events."""
    return await make_topics(kafka_bootstrap)


@pytest_asyncio.fixture(loop_scope="session")
async def pool(database_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    p = AsyncConnectionPool(database_dsn, min_size=1, max_size=8, open=False, kwargs={"autocommit": True})
    await p.open(wait=True)
    yield p
    await p.close()


async def read_all_records(bootstrap: str, topic: str, partition_count: int) -> list[ConsumerRecord]:
    """Every record of `topic`, from the first offset to the end, in partition order (what is on the log, raw)."""
    # "earliest" also for the reset that assign() starts, which would otherwise race the seek below.
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(partition_count)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        out: list[ConsumerRecord] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(records)
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()
