"""The fault harness does what fault tests rely on: a cut proxy really cuts, a throwaway broker really stops."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from civicloop_testing import ADMIN_DSN
from civicloop_testing.faults import TcpProxy, ThrowawayKafka
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# A broker or database of the test's own is stopped or cut off: the fault suite (`make test-faults`), not `make test`.
pytestmark = [pytest.mark.integration, pytest.mark.faults]


def _through(proxy: TcpProxy, dsn: str) -> str:
    return make_conninfo(dsn, host="127.0.0.1", port=proxy.port)


async def test_a_cut_proxy_drops_open_connections_and_refuses_new_ones_until_restored():
    info = conninfo_to_dict(ADMIN_DSN)
    async with TcpProxy(str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))) as proxy:
        dsn = _through(proxy, ADMIN_DSN)
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            assert await (await conn.execute("select 1")).fetchone() == (1,)
            await proxy.cut()
            with pytest.raises(psycopg.OperationalError):
                await conn.execute("select 1")
        with pytest.raises(psycopg.OperationalError):
            await psycopg.AsyncConnection.connect(dsn, connect_timeout=2)
        await proxy.restore()
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            assert await (await conn.execute("select 2")).fetchone() == (2,)


async def test_a_throwaway_broker_is_reached_through_its_proxy_and_can_be_stopped_and_started():
    async with ThrowawayKafka() as kafka:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic("faults.check", num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, request_timeout_ms=3000)
        await producer.start()
        try:
            first = await producer.send_and_wait("faults.check", b"before")
            await kafka.stop()
            with pytest.raises(KafkaError):
                await asyncio.wait_for(producer.send_and_wait("faults.check", b"during"), 10)
            await kafka.start()
            again = await producer.send_and_wait("faults.check", b"after")
            assert (first.offset, again.offset) == (0, 1)
        finally:
            await producer.stop()
