"""The whole system under load, as `make run` runs it (bench/system.py): every figure of issue 10's write goals.

* idle RSS of every service process, after start-up and a few seconds idle, beside the 150 MB target;
* intake POST and Open311 POST (`requests.json`, form) closed loop with wrk, each beside the same app's no-op
  `GET /healthz` (ceiling, ratio), with the CPU per accepted request of every process and of the whole system
  (services, broker, PostgreSQL), during the load and including the consumers' catch-up afterwards;
* p99 at half the measured load: wrk paced (bench/pacing.py) to offer half of each closed-loop figure;
* submit -> agent view lag at a paced offered rate: from each submission's event time (the envelope's `recorded_at`,
  set when intake accepted it) to the projections inbox row's `applied_at` of that event;
* `soak`: a paced load for minutes while every consumer group's lag is sampled (bench/lag.py).

Every phase starts on an idle pipeline: the consumers have applied everything the previous phase left behind.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer
from civicloop_events import REGISTRY, ServiceRequestSubmitted
from civicloop_events.topics import partition_extents

from bench.cpu import CpuMeter
from bench.harness import KAFKA, percentile
from bench.lag import label, verdict
from bench.pacing import connections_for
from bench.rss import RSS_TARGET_MB, process_tree_rss_mb
from bench.system import INTAKE_REPORT, OPEN311_FORM, System, running_system
from bench.wrk import Load, WrkResult, ratio, wrk

CATCH_UP_TIMEOUT_S = 900
Echo = Callable[[str], None]


def intake_post(system: System) -> tuple[str, tuple[str, str]]:
    return f"{system.url('intake')}/api/v1/requests", ("application/json", INTAKE_REPORT)


def open311_post(system: System) -> tuple[str, tuple[str, str]]:
    form = f"api_key={system.partner_key}&{OPEN311_FORM}"
    return f"{system.url('open311-gateway')}/open311/v2/requests.json", (
        "application/x-www-form-urlencoded",
        form,
    )


async def idle_rss(system: System, echo: Echo, idle_s: float) -> None:
    """Each process's RSS after `idle_s` idle, and the CPU it spent meanwhile (what idling costs: polling loops)."""
    meter = CpuMeter(system.watch())
    meter.start()
    await asyncio.sleep(
        idle_s
    )  # the measurement is of idle processes: this is the idle time itself, not a wait
    idle = meter.stop()
    echo(f"idle RSS after {idle_s:g} s idle (target < {RSS_TARGET_MB} MB per service process), and idle CPU:")
    for name, pid in system.pids().items():
        mb = process_tree_rss_mb(pid)
        cpu = idle.per_group_s.get(name, 0.0) / idle_s
        echo(
            f"   {name:<24} {mb:7.1f} MB   {mb / RSS_TARGET_MB:5.0%} of the target   idle CPU {cpu:6.1%} of a core"
        )


async def caught_up(system: System, echo: Echo, what: str) -> float:
    seconds = await system.lag.wait_caught_up(timeout=CATCH_UP_TIMEOUT_S)
    echo(f"   every consumer applied {what} {seconds:.1f} s after it")
    return seconds


async def post_phases(system: System, load: Load, echo: Echo) -> None:
    meter = CpuMeter(system.watch())
    echo(f"wrk: {load.threads} threads, {load.connections} connections, {load.seconds:g} s each, closed loop")
    for app, (url, post), service in (
        ("intake POST /api/v1/requests (JSON)", intake_post(system), "intake"),
        ("Open311 POST requests.json (form)", open311_post(system), "open311-gateway"),
    ):
        meter.start()
        ceiling = await wrk(f"{service} GET /healthz (no-op ceiling)", f"{system.url(service)}/healthz", load)
        echo(ceiling.line())
        echo(meter.stop().per_request_line(ceiling.accepted, ceiling.client_cpu_s))
        meter.start()
        result = await wrk(app, url, load, post=post)
        during = meter.stop()
        echo(result.line())
        echo(during.per_request_line(result.accepted, result.client_cpu_s))
        await caught_up(system, echo, "this load")
        with_consumers = (
            meter.stop()
        )  # from the load's start: the consumers' work for these requests included
        echo(
            with_consumers.per_request_line(result.accepted, result.client_cpu_s).replace(
                "CPU ms per accepted request", "... including the catch-up"
            )
        )
        echo(ratio(result, ceiling))
        cpu_ms = 1000 * with_consumers.total_s / result.accepted if result.accepted else float("nan")
        echo(
            f"   goals: {result.throughput:.0f} req/s (>= 1,000), {result.throughput / ceiling.throughput:.1%} of the"
            f" no-op (>= 35 %), whole system {cpu_ms:.1f} ms CPU per accepted request, catch-up included (<= 5 ms)"
        )
        await half_load(system, app, url, post, result, load, meter, echo)


async def half_load(
    system: System,
    app: str,
    url: str,
    post: tuple[str, str],
    closed: WrkResult,
    load: Load,
    meter: CpuMeter,
    echo: Echo,
) -> None:
    rate = closed.throughput / 2
    connections = connections_for(rate, closed.p99_ms, load.threads)
    paced = Load(connections=connections, threads=load.threads, seconds=load.seconds, rate=rate)
    meter.start()
    result = await wrk(f"{app} at half load", url, paced, post=post)
    usage = meter.stop()
    echo(result.line() + f"   [{connections} connections, paced]")
    echo(usage.per_request_line(result.accepted, result.client_cpu_s))
    echo(f"   p99 at half load {result.p99_ms:.1f} ms (goal < 50 ms)")
    await caught_up(system, echo, "this load")


async def submitted_times(topic: str, since: float, until: float) -> dict[str, float]:
    """event id -> event time (epoch seconds) of every submission recorded in [since, until] on `topic`."""
    names = set(REGISTRY.names_of(ServiceRequestSubmitted.event_type))
    ends = {p: end for p, (_, end) in (await partition_extents(KAFKA, topic)).items()}
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    found: dict[str, float] = {}
    try:
        read = dict.fromkeys(ends, 0)
        while any(read[p] < end for p, end in ends.items()):
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            for tp, records in batch.items():
                for record in records:
                    read[tp.partition] = record.offset + 1
                    envelope: dict[str, Any] = json.loads(record.value)
                    if envelope["type"] in names:
                        at = datetime.fromisoformat(envelope["recorded_at"]).timestamp()
                        if since <= at <= until:
                            found[envelope["event_id"]] = at
    finally:
        await consumer.stop()
    return found


async def applied_times(dsn: str, topic: str, event_ids: list[str]) -> dict[str, float]:
    """event id -> when the projections' agent view applied it (its inbox row), epoch seconds."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(
            "select event_id::text, extract(epoch from applied_at) from projections.inbox"
            " where topic = %s and event_id = any(%s::uuid[])",
            (topic, event_ids),
        )
        return {event_id: float(at) for event_id, at in await cur.fetchall()}


async def agent_view_lag(system: System, load: Load, rate: float, seconds: float, echo: Echo) -> None:
    url, post = intake_post(system)
    connections = connections_for(rate, 100, load.threads)
    paced = Load(connections=connections, threads=load.threads, seconds=seconds, rate=rate)
    meter = CpuMeter(system.watch())
    since = time.time()
    meter.start()
    result = await wrk("intake POST, paced (agent view lag)", url, paced, post=post)
    usage = meter.stop()
    until = time.time()
    echo(result.line() + f"   [{connections} connections, paced]")
    echo(usage.per_request_line(result.accepted, result.client_cpu_s))
    await caught_up(system, echo, "this load")
    submitted = await submitted_times(system.topics.request_events, since - 1, until + 1)
    applied = await applied_times(system.dsn, system.topics.request_events, list(submitted))
    lags = [(applied[e] - at) * 1000 for e, at in submitted.items() if e in applied]
    echo(
        f"{'submit -> agent view lag':<44} at {rate:.0f} req/s offered for {seconds:g} s:"
        f"   p50 {percentile(lags, 50):8.1f} ms   p99 {percentile(lags, 99):8.1f} ms (goal p99 < 100 ms)"
        f"   ({len(lags)} of the {len(submitted)} submissions intake recorded during the load projected;"
        f" wrk counted {result.accepted} answers, not those in flight when it stopped)"
    )


async def run(
    *, phases: set[str], load: Load, lag_rate: float, lag_seconds: float, idle_s: float = 5
) -> list[str]:
    lines: list[str] = []
    echo = lines.append
    async with running_system() as system:
        if "rss" in phases:
            await idle_rss(system, echo, idle_s)
        if "system" in phases:
            await post_phases(system, load, echo)
        if "lag" in phases:
            await agent_view_lag(system, load, lag_rate, lag_seconds, echo)
    return lines


async def soak(*, load: Load, rate: float, seconds: float, every_s: float, echo: Echo) -> None:
    """A paced intake POST load for `seconds` while every consumer group's lag is sampled every `every_s`."""
    async with running_system("cl_bench_soak") as system:
        url, post = intake_post(system)
        connections = connections_for(rate, 100, load.threads)
        paced = Load(connections=connections, threads=load.threads, seconds=seconds, rate=rate, timeout_s=30)
        echo(f"soak: intake POST paced at {rate:g} req/s for {seconds:g} s, {connections} connections")
        meter = CpuMeter(system.watch())
        meter.start()
        loading = asyncio.create_task(wrk("intake POST, paced (soak)", url, paced, post=post))
        started = time.monotonic()
        while not loading.done():
            lags = await system.lag.record()
            at = time.monotonic() - started
            named = sorted(
                (consumer.removeprefix(system.topics.prefix), lag) for (_, consumer, _), lag in lags.items()
            )
            echo(f"   t={at:6.1f} s   " + "   ".join(f"{name} {lag}" for name, lag in named))
            await asyncio.wait({loading}, timeout=every_s)  # a sample every `every_s`, or the load ended
        result = loading.result()
        echo(result.line())
        echo(meter.stop().per_request_line(result.accepted, result.client_cpu_s))
        echo("lag series per consumer group (records behind the end of the log, one sample per line above);")
        echo(
            "a lag GROWS when the mean of the last third of its samples > 1.5 x the first third's + 100 records:"
        )
        for group, series in sorted(system.lag.series.items()):
            echo(f"   {label(group, system.topics.prefix):<64} {verdict(series).text()}")
            echo(f"      {' '.join(str(x) for x in series)}")
        try:
            await caught_up(system, echo, "the soak's load")
        except TimeoutError as exc:
            echo(f"   {exc}")
