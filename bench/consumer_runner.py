"""The consumer runner's apply rate: records/s folded by one runner with a trivial database handler.

`python -m bench.consumer_runner [--records N]` publishes N comment events on a scratch topic (six partitions),
then times one `ConsumerRunner` from start until its stored positions reach the end of every partition. The
ceiling beside it is the raw consume rate of the same topic (a plain Kafka consumer reading the same records).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import typer
from aiokafka import AIOKafkaConsumer
from civicloop_events import Actor, CommentAdded, Event
from civicloop_events.consumer import ConsumerRunner, consumer_tables_ddl, read_positions
from civicloop_events.producer import EventProducer, Position
from psycopg_pool import AsyncConnectionPool

from bench.harness import KAFKA, scratch_database, scratch_topics

SCHEMA = "benchrunner"


async def _trivial(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
    await conn.execute(f"insert into {SCHEMA}.applied values (%s)", (event.event_id,))


async def _publish(producer: EventProducer, records: int) -> dict[int, int]:
    """Publishes `records` events over 200 requests; the end offset of each partition."""
    ends: dict[int, int] = {}
    for start in range(0, records, 1000):
        got: list[Position] = await asyncio.gather(
            *(
                producer.publish(
                    Event.create(
                        CommentAdded(text=f"comment {i}"),
                        request_id=f"BNCH-{i % 200:04d}",
                        jurisdiction_id="demo",
                        actor=Actor(kind="agent", id="bench"),
                        source="agent",
                    )
                )
                for i in range(start, min(start + 1000, records))
            )
        )
        for p in got:
            ends[p.partition] = max(ends.get(p.partition, 0), p.offset + 1)
    return ends


async def _raw_consume_s(topic: str, records: int) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        started, seen = time.perf_counter(), 0
        while seen < records:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            seen += sum(len(rs) for rs in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def _applied_s(runner: ConsumerRunner, pool: AsyncConnectionPool, ends: dict[int, int]) -> float:
    await runner.start()
    started = time.perf_counter()
    task = asyncio.create_task(runner.run())
    try:
        while True:
            async with pool.connection() as conn:
                positions = await read_positions(conn, SCHEMA, runner.name, runner.topic)
            if all(positions.get(p, 0) >= end for p, end in ends.items()):
                return time.perf_counter() - started
            if task.done():
                task.result()  # the runner failed: say why
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
        await asyncio.wait_for(task, 30)


async def run(records: int) -> list[str]:
    topics = await scratch_topics()
    with scratch_database("cl_bench_runner") as dsn:
        pool = AsyncConnectionPool(dsn, open=False, kwargs={"autocommit": True}, max_size=4)
        await pool.open()
        producer = EventProducer(KAFKA, topics.request_events)
        await producer.start()
        try:
            async with pool.connection() as conn:
                await conn.execute(f"create schema {SCHEMA}")
                for ddl in consumer_tables_ddl(SCHEMA):
                    await conn.execute(ddl)
                await conn.execute(f"create table {SCHEMA}.applied (event_id uuid primary key)")
            ends = await _publish(producer, records)
            raw_s = await _raw_consume_s(topics.request_events, records)
            runner = ConsumerRunner(
                name="bench.runner.v1",
                bootstrap_servers=KAFKA,
                topic=topics.request_events,
                dead_letter_topic=topics.dead_letters,
                pool=pool,
                schema=SCHEMA,
                handler=_trivial,
                producer=producer,
            )
            applied_s = await _applied_s(runner, pool, ends)
            async with pool.connection() as conn:
                cur = await conn.execute(f"select count(*) from {SCHEMA}.applied")
                row = await cur.fetchone()
            assert row is not None and row[0] == records, f"applied {row} of {records}"
        finally:
            await producer.stop()
            await pool.close()
    rate, ceiling = records / applied_s, records / raw_s
    return [
        f"{'consumer runner, trivial DB handler':<44} {rate:9.1f} records/s   ({records} records, {applied_s:.1f} s)",
        f"{'ceiling: raw consume of the same topic':<44} {ceiling:9.1f} records/s   ratio {rate / ceiling:.3f}",
    ]


def main(records: int = typer.Option(20_000, help="records published, then applied")) -> None:
    for line in asyncio.run(run(records)):
        typer.echo(line)


if __name__ == "__main__":
    typer.run(main)
