"""One request's history: through the request index, beside the whole topic's scan, on a log as large as a few
minutes can fill.

The log is filled with copies of real events (the bench replay's requests: submissions, placings, status changes,
about 1 KB each), each record re-keyed to a request of its own so the log holds many requests; their values are not
decoded by either reader (both select by key first), so only their size matters. One audited request's ten events
are spread evenly through the fill, so each of its records lies in a different stretch of its partition: the worst
case for the index's seeks. The index is written from the producer's acknowledgements (COPY into the projections'
table, its consumer position set to the log's end) rather than folded by the consumer: this phase times the reader,
not the fold. The indexed read is timed when half the log is written and again at the end (its time should not grow
with the log); the scan once, at the end, and extrapolated linearly to 10 million events.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable

import psycopg
from aiokafka import AIOKafkaProducer
from civicloop_events import CommentAdded, Event, encode_event
from civicloop_events.history import indexed_history, scanned_history
from civicloop_events.request_index import TABLE, indexed_positions
from civicloop_events.request_numbers import encode as encode_number
from civicloop_testing.processes import script

from bench.harness import KAFKA, scratch_database, scratch_topics
from bench.replay import AGENT, generated
from bench.system import environment, run_tool

Echo = Callable[[str], None]
SCHEMA, CONSUMER = "projections", "projections.request-index.v1"
AUDITED = "AUDT-0001"
TARGET = 10_000_000
WAVE = 20_000


async def run(*, events: int, fill_seconds: float, echo: Echo) -> None:
    with scratch_database("cl_bench_history") as dsn:
        topics = await scratch_topics()
        env = environment(dsn, topics, gateway_port=8003)
        await asyncio.to_thread(run_tool, [script("civicloop-projections"), "migrate"], env)
        topic = topics.request_events
        templates = [encode_event(e) for request in generated(2_000) for e in request]
        audited = [_audited_event(i) for i in range(10)]
        producer = AIOKafkaProducer(bootstrap_servers=KAFKA, linger_ms=20, max_batch_size=1 << 20, acks="all")
        await producer.start()
        written, started, measured_half = 0, time.perf_counter(), False
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                while written < events and time.perf_counter() - started < fill_seconds:
                    wave = min(WAVE, events - written)
                    sends = []
                    for j in range(wave):
                        n = written + j
                        if n % max(events // 10, 1) == 0 and audited:
                            key, value = AUDITED, audited.pop(0)
                        else:
                            key, value = encode_number(n % (1 << 40)), templates[n % len(templates)]
                        sends.append((key, await producer.send(topic, value, key=key.encode())))
                    acks = await asyncio.gather(*(future for _, future in sends))
                    await _index(
                        conn,
                        topic,
                        [(key, m.partition, m.offset) for (key, _), m in zip(sends, acks, strict=True)],
                    )
                    written += wave
                    if not measured_half and written >= events // 2:
                        measured_half = True
                        echo(
                            f"indexed history at {written:,} events: {await _indexed_ms(conn, topic):8.1f} ms"
                        )
                fill_s = time.perf_counter() - started
                echo(
                    f"log: {written:,} events written and indexed in {fill_s:.1f} s ({written / fill_s:,.0f}/s)"
                )
                indexed_ms = await _indexed_ms(conn, topic)
        finally:
            await producer.stop()
        echo(
            f"{'indexed history of one request (median of 5)':<48} {indexed_ms:8.1f} ms at {written:,} events"
        )
        scan_started = time.perf_counter()
        scanned = await scanned_history(KAFKA, topic, AUDITED)
        scan_s = time.perf_counter() - scan_started
        echo(
            f"{'whole-topic scan of the same request':<48} {scan_s * 1000:8.1f} ms ({len(scanned)} events found)"
        )
        echo(
            f"extrapolated to {TARGET:,} events: scan ~{scan_s * TARGET / written:,.1f} s (linear in the log);"
            f" indexed ~{indexed_ms:.0f} ms (a B-tree lookup and one fetch per record: does not grow with the log)"
        )


def _audited_event(i: int) -> bytes:
    return encode_event(
        Event.create(
            CommentAdded(text=f"audited step {i}"),
            request_id=AUDITED,
            jurisdiction_id="demo",
            actor=AGENT,
            source="agent",
        )
    )


async def _index(conn: psycopg.AsyncConnection, topic: str, rows: list[tuple[str, int, int]]) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.{TABLE} (request_id, partition, kafka_offset, event_id)"
        " select k, p, o, gen_random_uuid() from unnest(%s::text[], %s::integer[], %s::bigint[]) as t(k, p, o)",
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
    )
    ends: dict[int, int] = {}
    for _, partition, offset in rows:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    await conn.execute(
        f"insert into {SCHEMA}.consumer_positions (consumer, topic, partition, next_offset)"
        " select %s, %s, p, o from unnest(%s::integer[], %s::bigint[]) as t(p, o)"
        " on conflict (consumer, topic, partition) do update set next_offset = excluded.next_offset",
        (CONSUMER, topic, list(ends), list(ends.values())),
    )


async def _indexed_ms(conn: psycopg.AsyncConnection, topic: str) -> float:
    """The median of five reads of the audited request's history (index lookup and fetches), in ms."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        positions = await indexed_positions(
            conn, schema=SCHEMA, consumer=CONSUMER, topic=topic, request_id=AUDITED
        )
        history = await indexed_history(KAFKA, topic, AUDITED, positions)
        times.append((time.perf_counter() - started) * 1000)
        if not history:
            print("the audited request has no history yet", file=sys.stderr)
    return statistics.median(times)
