"""`config_caught_up` on the real broker and PostgreSQL: it holds a request consumer back until the configuration
consumer's stored positions reach the config topic's end as it stood, and gives up (going on) after its timeout."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import pytest_asyncio
from civicloop_events import ServiceDefined
from civicloop_events.consumer import consumer_tables_ddl
from civicloop_events.topics import partition_extents
from civicloop_runtime.config_first import config_caught_up
from civicloop_testing.events import config_event, publish_events
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration

SCHEMA = "config_first"
CONSUMER = "tests.config.v1"


@pytest_asyncio.fixture(loop_scope="session")
async def pool(fresh_database_dsn):
    async with await psycopg.AsyncConnection.connect(fresh_database_dsn, autocommit=True) as conn:
        await conn.execute(f"create schema {SCHEMA}")
        for ddl in consumer_tables_ddl(SCHEMA):
            await conn.execute(ddl)
    async with AsyncConnectionPool(fresh_database_dsn, min_size=1, max_size=2, open=False) as pool:
        yield pool


async def store(pool: AsyncConnectionPool, topic: str, positions: dict[int, int]) -> None:
    async with pool.connection() as conn:
        for partition, offset in positions.items():
            await conn.execute(
                f"insert into {SCHEMA}.consumer_positions (consumer, topic, partition, next_offset)"
                " values (%s, %s, %s, %s) on conflict (consumer, topic, partition)"
                " do update set next_offset = excluded.next_offset",
                (CONSUMER, topic, partition, offset),
            )


async def test_requests_wait_until_the_configuration_as_it_stood_is_applied(
    pool, fresh_topics, kafka_bootstrap
):
    topic = fresh_topics.jurisdiction_config
    events = [config_event(ServiceDefined(service_code=f"c{i}", service_name=f"C {i}")) for i in range(6)]
    await publish_events(kafka_bootstrap, topic, events)
    ends = {p: end for p, (_, end) in (await partition_extents(kafka_bootstrap, topic)).items()}
    entered = asyncio.Event()

    async def request_consumer() -> None:
        async with config_caught_up(
            pool,
            schema=SCHEMA,
            bootstrap_servers=kafka_bootstrap,
            topic=topic,
            consumer=CONSUMER,
            poll_s=0.05,
        ):
            entered.set()

    waiting = asyncio.create_task(request_consumer())
    # Every partition but one applied: still waiting (checked past several polls).
    *most, last = sorted(ends)
    await store(pool, topic, {p: ends[p] for p in most} | {last: ends[last] - 1})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(entered.wait()), timeout=0.5)
    await store(pool, topic, {last: ends[last]})
    await asyncio.wait_for(entered.wait(), timeout=10)
    await waiting


async def test_a_stuck_configuration_consumer_holds_requests_back_no_longer_than_the_timeout(
    pool, fresh_topics, kafka_bootstrap, caplog
):
    topic = fresh_topics.jurisdiction_config
    await publish_events(
        kafka_bootstrap, topic, [config_event(ServiceDefined(service_code="x", service_name="X"))]
    )
    async with asyncio.timeout(10):
        async with config_caught_up(
            pool,
            schema=SCHEMA,
            bootstrap_servers=kafka_bootstrap,
            topic=topic,
            consumer="tests.nobody.v1",
            timeout_s=0.3,
            poll_s=0.05,
        ):
            went_on = True
    assert went_on
    assert "configuration not caught up" in caplog.text
