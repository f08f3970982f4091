"""How fast geo's request consumer folds a backlog: records/s of one runner catching up with a pre-filled topic.

    uv run --frozen python services/geo/scripts/consumer_rate.py --events 3000 --rounds 2

Makes a database and topics of its own (dropped at the end), fills the requests topic with `--events` submissions
(points around one city, five categories, half without an address so geo reverse-geocodes them), then, per round and
per handler, empties geo's request tables and positions and times a fresh runner from offset 0 until its stored
positions reach the filled ends. Handlers alternate (A/B/A/B) so the machine's drift hits both alike:
  one-by-one  the handler applied once per event (`handlers.when_request_event_place_and_check`), as it was
  batch       what bootstrap wires now (`place_and_check_batch`)
  replay      the rebuild's fold (`replay_requests`) over the whole topic as it then stands, reactions included
With `--profile-seconds`, the batch runs of the last round run in a child process py-spy can attach to: its pid is
printed and the timing waits `--profile-delay` seconds so the profiler starts first.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import time
import uuid
from typing import Any

import psycopg
from civicloop_events import Actor, ActorKind, Event, Location, ServiceAreaDefined, ServiceRequestSubmitted
from civicloop_events.consumer import ConsumerRunner, read_positions
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics, ensure_topics, partition_extents
from civicloop_geo.adapters.area_store import PostgresAreaStore
from civicloop_geo.adapters.request_places import PostgresRequestPlaces
from civicloop_geo.bootstrap import Geo, bootstrap, placing_policy
from civicloop_geo.database import migrate
from civicloop_geo.service_layer.handlers import PlacingDeps, when_request_event_place_and_check
from civicloop_geo.settings import SCHEMA, GeoSettings
from civicloop_testing import create_database, drop_database, topic_cleanup
from civicloop_testing.events import config_event

KAFKA = os.environ.get("CIVICLOOP_KAFKA_BOOTSTRAP", "127.0.0.1:21092")
ADMIN_DSN = os.environ.get("CIVICLOOP_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:21432/postgres")
J = "bench-city"
LAT, LONG = 34.05, -118.25
CODES = ("pothole", "graffiti", "streetlight", "dumping", "sidewalk")


def box(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def submissions(n: int, seed: int = 1) -> list[Event[Any]]:
    rng = random.Random(seed)  # noqa: S311  (a reproducible load, not a secret)
    out = []
    for i in range(n):
        north, east = rng.gauss(0, 3000), rng.gauss(0, 3000)
        lat = LAT + north / 111_195.0
        long = LONG + east / (111_195.0 * math.cos(math.radians(LAT)))
        address = f"{rng.randint(1, 999)} Main St" if i % 2 else None
        out.append(
            Event.create(
                ServiceRequestSubmitted(
                    service_code=rng.choice(CODES),
                    location=Location(lat=lat, long=long, address_string=address),
                ),
                request_id=f"BENCH-{uuid.uuid4().hex[:12]}",
                jurisdiction_id=J,
                actor=Actor(kind=ActorKind.resident),
                source="bench",
            )
        )
    return out


async def define_areas(dsn: str) -> None:
    store = PostgresAreaStore()
    areas = [("boundary", "boundary", box(LAT - 0.2, LONG - 0.2, LAT + 0.2, LONG + 0.2))]
    areas += [
        (
            f"ward-{i}{k}",
            "ward",
            box(LAT - 0.2 + 0.2 * i, LONG - 0.2 + 0.2 * k, LAT + 0.2 * i, LONG + 0.2 * k),
        )
        for i in range(2)
        for k in range(2)
    ]
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for area_id, kind, geometry in areas:
            payload = ServiceAreaDefined(area_id=area_id, name=area_id, kind=kind, geometry=geometry)
            await store.define(conn, config_event(payload, jurisdiction_id=J))


async def reset(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            f"truncate {SCHEMA}.requests, {SCHEMA}.decisions, {SCHEMA}.inbox, {SCHEMA}.consumer_positions, "
            f"{SCHEMA}.replay_pending"
        )


def one_by_one_runner(geo: Geo, producer: EventProducer, name: str) -> ConsumerRunner:
    s, policy = geo.settings, placing_policy(geo.settings)

    async def handler(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        deps = PlacingDeps(geo.geocoder, geo.areas, PostgresRequestPlaces(conn), geo.publisher, policy)
        await when_request_event_place_and_check(deps, event)

    return ConsumerRunner(
        name=name,
        bootstrap_servers=s.kafka_bootstrap,
        topic=s.topics.request_events,
        dead_letter_topic=s.topics.dead_letters,
        pool=geo.pool,
        schema=SCHEMA,
        handler=handler,
        producer=producer,
        batch_max_records=s.consumer_batch_max_records,
        batch_max_ms=s.consumer_batch_max_ms,
    )


async def timed_run(
    settings: GeoSettings, mode: str, ends: dict[int, int], *, delay_s: float = 0.0
) -> tuple[float, float, int]:
    """A fresh runner of `mode` applying every partition up to `ends`: (seconds from start, records/s once the first
    batch committed, which leaves the consumer group's join out, records applied)."""
    await reset(settings.pg_dsn)
    name = f"geo.requests.bench.{uuid.uuid4().hex[:6]}"
    s = settings.model_copy(update={"requests_consumer_name": name})
    producer = EventProducer(s.kafka_bootstrap, s.topics.request_events, client_id="geo-bench")
    await producer.start()
    geo = await bootstrap(s, producer=producer, start_consumers=False)
    try:
        if mode == "replay":
            ends = {
                p: end for p, (_, end) in (await partition_extents(KAFKA, s.topics.request_events)).items()
            }
        records = sum(ends.values())
        runner = {
            "one-by-one": lambda: one_by_one_runner(geo, producer, name),
            "batch": geo.requests_runner,
            "replay": geo.replay_runner,
        }[mode]()
        await asyncio.sleep(delay_s)
        await runner.start()
        started = time.perf_counter()
        task = asyncio.create_task(runner.run())
        first: tuple[float, int] | None = None
        try:
            while True:
                async with geo.pool.connection() as conn:
                    done = await read_positions(conn, SCHEMA, name, s.topics.request_events)
                now, applied = time.perf_counter(), sum(min(done.get(p, 0), end) for p, end in ends.items())
                if first is None and applied > 0:
                    first = (now, applied)
                if all(done.get(p, 0) >= end for p, end in ends.items()):
                    steady = (applied - first[1]) / (now - first[0]) if first and now > first[0] else 0.0
                    return now - started, steady, records
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        finally:
            await runner.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await geo.close()
        await producer.stop()


def child(args: argparse.Namespace) -> None:
    settings = GeoSettings.model_validate_json(os.environ["GEO_BENCH_SETTINGS"])
    ends = {int(k): v for k, v in __import__("json").loads(os.environ["GEO_BENCH_ENDS"]).items()}
    seconds, steady, records = asyncio.run(timed_run(settings, args.child, ends, delay_s=args.profile_delay))
    print(f"CHILD_SECONDS {seconds} {steady} {records}", flush=True)


async def main(args: argparse.Namespace) -> None:
    dsn = create_database(ADMIN_DSN, prefix="cl_geobench")
    topics = Topics(prefix=f"t{uuid.uuid4().hex[:10]}.", partitions=args.partitions)
    topic_cleanup.remember(KAFKA, topics.prefix)
    try:
        settings = GeoSettings(
            pg_dsn=dsn, kafka_bootstrap=KAFKA, topic_prefix=topics.prefix, topic_partitions=topics.partitions
        )
        migrate(settings.sqlalchemy_url)
        await ensure_topics(KAFKA, topics)
        await define_areas(dsn)
        producer = EventProducer(KAFKA, topics.request_events, client_id="geo-bench-fill")
        await producer.start()
        try:
            events = submissions(args.events)
            for i in range(0, len(events), 500):
                await asyncio.gather(*(producer.publish(e) for e in events[i : i + 500]))
        finally:
            await producer.stop()
        ends = {p: end for p, (_, end) in (await partition_extents(KAFKA, topics.request_events)).items()}
        print(f"{args.events} submissions on {topics.partitions} partitions; ends {ends}")
        for r in range(args.rounds):
            for mode in args.modes.split(","):
                if args.profile_seconds and mode == "batch" and r == args.rounds - 1:
                    seconds, steady, records = await profiled(settings, mode, ends, args)
                else:
                    seconds, steady, records = await timed_run(settings, mode, ends)
                print(
                    f"round {r + 1} {mode:>10}: {records / seconds:8.1f} records/s overall ({seconds:.2f} s), "
                    f"{steady:8.1f} records/s after the first commit",
                    flush=True,
                )
    finally:
        drop_database(ADMIN_DSN, dsn)


async def profiled(
    settings: GeoSettings, mode: str, ends: dict[int, int], args: argparse.Namespace
) -> tuple[float, float, int]:
    import json
    import sys

    env = {**os.environ, "GEO_BENCH_SETTINGS": settings.model_dump_json(), "GEO_BENCH_ENDS": json.dumps(ends)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--child",
        mode,
        "--profile-delay",
        str(args.profile_delay),
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    print(f"PROFILE_PID {proc.pid}", flush=True)
    out, _ = await proc.communicate()
    for line in out.decode().splitlines():
        if line.startswith("CHILD_SECONDS"):
            _, seconds, steady, records = line.split()
            return float(seconds), float(steady), int(records)
    raise RuntimeError(out.decode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--profile-seconds", type=float, default=0.0)
    parser.add_argument("--profile-delay", type=float, default=3.0)
    parser.add_argument("--child", default="")
    parser.add_argument(
        "--modes", default="one-by-one,batch", help="which handlers, in this order each round"
    )
    parsed = parser.parse_args()
    if parsed.child:
        child(parsed)
    else:
        try:
            asyncio.run(main(parsed))
        finally:
            topic_cleanup.delete_created()
