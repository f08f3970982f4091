"""Replay: rebuilding each read model from the log, beside the raw consume rate of the same topic (its ceiling).

The log of a scratch set of topics is filled with the events of N requests as the running system writes them: the
submission (intake), geo's placing (`LocationResolved`, from the real LA points and areas of ../shared/data when it
is there) and sometimes its duplicate suspicion, and an agent's status changes for most requests; the demo catalogue
and areas go on the configuration topic as `make seed` puts them. Then every service's `rebuild` command that exists
(detected with `<cli> rebuild --help`) replays it; its wall-clock time, start-up included, gives events/s. The
ceiling is a plain Kafka consumer reading the same request topic in the same run.
"""

from __future__ import annotations

import asyncio
import csv
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from civicloop_events import Actor, Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.envelope import derived_event_id
from civicloop_events.payloads.geo import (
    AreaRef,
    DuplicateCandidate,
    DuplicateSuspected,
    LocationMethod,
    LocationResolved,
    PublicPlace,
)
from civicloop_events.payloads.requests import Location, RequestStatus
from civicloop_events.producer import EventProducer
from civicloop_events.request_numbers import encode as encode_number
from civicloop_events.topics import partition_extents
from civicloop_places import public_place
from civicloop_testing import shared_dir
from civicloop_testing.processes import script

from bench.harness import KAFKA, ROOT, scratch_database, scratch_topics
from bench.system import MIGRATIONS, SEED, environment, run_tool

Echo = Callable[[str], None]
# Services whose read models may have a `rebuild` command (each is tried; one without it is skipped).
READ_MODELS = (
    ("public-projections", "civicloop-projections"),
    ("open311-gateway", "civicloop-gateway"),
    ("geo", "civicloop-geo"),
)
CODES = [("bulky-items", 0.44), ("graffiti", 0.29), ("illegal-dumping", 0.08), ("appliances", 0.07)]
CODES += [
    ("e-waste", 0.04),
    ("encampment", 0.03),
    ("dead-animal", 0.02),
    ("streetlight", 0.02),
    ("other", 0.01),
]
RESIDENT = Actor(kind="resident")
GEO = Actor(kind="system", id="geo")
AGENT = Actor(kind="agent", id="agent-7")
START = datetime(2026, 1, 1, tzinfo=UTC)


def la_places() -> list[tuple[float, float, str]]:
    data = shared_dir()
    if data is not None:
        with (data / "data" / "requests" / "la-311-2017-sample.csv").open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["Latitude"]]
        return [(float(r["Latitude"]), float(r["Longitude"]), r["Address"].strip()) for r in rows]
    rng = random.Random(7)
    return [(33.95 + rng.random() * 0.3, -118.45 + rng.random() * 0.3, "") for _ in range(5000)]


def request_events(i: int, rng: random.Random, places: list[tuple[float, float, str]]) -> list[Event[Any]]:
    """The events of request `i` in log order: submitted, placed, maybe a duplicate suspicion, status changes."""
    number = encode_number((i * 1_000_003 + 4242) % (1 << 40))
    code = rng.choices([c for c, _ in CODES], [w for _, w in CODES])[0]
    lat, long, address = rng.choice(places)
    at = START + timedelta(seconds=i * 3.1)
    submitted = Event.create(
        ServiceRequestSubmitted(
            service_code=code,
            description=f"{code} reported near {address or 'a pin'}",
            location=Location(lat=lat, long=long, address_string=address or None),
        ),
        request_id=number,
        jurisdiction_id="demo",
        actor=RESIDENT,
        source="web",
        occurred_at=at,
    )
    shown = public_place(lat, long, address or None)
    placed = Event.create(
        LocationResolved(
            lat=lat,
            long=long,
            address=address or None,
            method=LocationMethod.submitted,
            provider="reporter",
            confidence=1.0,
            service_areas=[
                AreaRef(
                    area_id=f"nc-{i % 99}", kind="neighborhood_council", name=f"Council {i % 99}", version=1
                )
            ],
            inside_jurisdiction=True,
            public=PublicPlace(
                h3_cell=shown.h3_cell,
                h3_resolution=shown.h3_resolution,
                lat=shown.lat,
                long=shown.long,
                address=shown.address,
            ),
        ),
        request_id=number,
        jurisdiction_id="demo",
        actor=GEO,
        source="geo",
        causation=submitted,
        event_id=derived_event_id("location", submitted.event_id),
        occurred_at=at + timedelta(seconds=1),
    )
    events = [submitted, placed]
    if i > 0 and rng.random() < 0.1:
        other = encode_number(((i - 1) * 1_000_003 + 4242) % (1 << 40))
        candidate = DuplicateCandidate(
            request_id=other, service_code=code, distance_m=rng.uniform(1, 50), submitted_at=at, score=0.8
        )
        events.append(
            Event.create(
                DuplicateSuspected(candidates=[candidate], radius_m=50, window_days=30),
                request_id=number,
                jurisdiction_id="demo",
                actor=GEO,
                source="geo",
                causation=submitted,
                event_id=derived_event_id("duplicates", submitted.event_id),
                occurred_at=at + timedelta(seconds=1),
            )
        )
    previous = RequestStatus.open
    for step, status in enumerate((RequestStatus.in_progress, RequestStatus.closed)):
        if rng.random() < 0.7:
            events.append(
                Event.create(
                    StatusChanged(status=status, previous_status=previous),
                    request_id=number,
                    jurisdiction_id="demo",
                    actor=AGENT,
                    source="agent",
                    occurred_at=at + timedelta(days=step + 1),
                )
            )
            previous = status
    return events


def generated(requests: int, seed: int = 311) -> Iterator[list[Event[Any]]]:
    rng, places = random.Random(seed), la_places()
    for i in range(requests):
        yield request_events(i, rng, places)


async def fill_log(topic: str, requests: int) -> int:
    """Publish the events of `requests` requests, a thousand requests at a time, each request's events in order
    (every request's k-th event is sent after all of the chunk's (k-1)-th); the number of events published."""
    producer = EventProducer(KAFKA, topic, client_id="civicloop-bench")
    await producer.start()
    published = 0
    chunk: list[list[Event[Any]]] = []
    try:
        for events in generated(requests):
            chunk.append(events)
            if len(chunk) == 1000:
                published += await _publish_chunk(producer, chunk)
                chunk = []
        if chunk:
            published += await _publish_chunk(producer, chunk)
    finally:
        await producer.stop()
    return published


async def _publish_chunk(producer: EventProducer, chunk: list[list[Event[Any]]]) -> int:
    published = 0
    for k in range(max(len(events) for events in chunk)):
        wave = [events[k] for events in chunk if k < len(events)]
        await asyncio.gather(*(producer.publish(e) for e in wave))
        published += len(wave)
    return published


async def raw_consume_s(topic: str) -> tuple[int, float]:
    """Records on `topic` and the seconds a plain consumer takes to read them all from the start."""
    ends = {p: end for p, (_, end) in (await partition_extents(KAFKA, topic)).items()}
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        started, read = time.perf_counter(), dict.fromkeys(ends, 0)
        while any(read[p] < end for p, end in ends.items()):
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=5000)).items():
                read[tp.partition] = records[-1].offset + 1
        return sum(ends.values()), time.perf_counter() - started
    finally:
        await consumer.stop()


def has_rebuild(cli: str, env: dict[str, str]) -> bool:
    done = subprocess.run(
        [script(cli), "rebuild", "--help"], env=env, cwd=ROOT, capture_output=True, check=False
    )
    return done.returncode == 0


def timed_rebuild(cli: str, env: dict[str, str]) -> tuple[float, str]:
    """Seconds `<cli> rebuild` took (its start-up included) and the last line it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [script(cli), "rebuild"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{cli} rebuild failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}"
        )
    said = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return seconds, said[-1] if said else ""


async def run(*, requests: int, echo: Echo) -> None:
    with scratch_database("cl_bench_replay") as dsn:
        topics = await scratch_topics()
        env = environment(dsn, topics, gateway_port=8003)
        for migration in MIGRATIONS:
            await asyncio.to_thread(run_tool, [script(migration), "migrate"], env)
        await asyncio.to_thread(run_tool, [sys.executable, str(SEED), "config"], env)
        started = time.perf_counter()
        published = await fill_log(topics.request_events, requests)
        echo(
            f"log: {published:,} events of {requests:,} requests published in {time.perf_counter() - started:.1f} s"
            f" ({published / requests:.2f} per request), plus the demo configuration"
        )
        config_events = sum(
            end - start
            for start, end in (await partition_extents(KAFKA, topics.jurisdiction_config)).values()
        )
        records, raw_s = await raw_consume_s(topics.request_events)
        ceiling = records / raw_s
        echo(
            f"{'ceiling: raw consume of the request topic':<44} {ceiling:11,.0f} events/s   ({records:,} in {raw_s:.2f} s)"
        )
        for service, cli in READ_MODELS:
            if not await asyncio.to_thread(has_rebuild, cli, env):
                echo(f"{service + ' rebuild':<44} skipped: `{cli} rebuild` does not exist")
                continue
            try:
                seconds, said = await asyncio.to_thread(timed_rebuild, cli, env)
            except RuntimeError as exc:
                echo(f"{service + ' rebuild':<44} FAILED: {exc}")
                continue
            rate = (records + config_events) / seconds
            echo(
                f"{service + ' rebuild':<44} {rate:11,.0f} events/s   ({records + config_events:,} events in"
                f" {seconds:.1f} s, start-up included)   ratio {rate / ceiling:.3f}   goal >= 100,000 events/s"
            )
            if said:
                echo(f"   it said: {said[:200]}")
