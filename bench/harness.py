"""Shared pieces of the benchmarks: an isolated database and topics, service processes, wrk phases measured with
the CPU of every process involved, in-process load loops (geo's database-level phases), percentiles."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from civicloop_events.topics import Topics, ensure_topics
from civicloop_staff.tokens import new_signing_key
from civicloop_testing import create_database, drop_database, staff_tokens
from civicloop_testing.processes import ServiceProcess
from civicloop_testing.topic_cleanup import remember

from bench.cpu import CpuMeter
from bench.wrk import Load, WrkResult, wrk

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("CIVICLOOP_PG_DSN", "postgresql://postgres@127.0.0.1:21432/civicloop")
KAFKA = os.environ.get("CIVICLOOP_KAFKA_BOOTSTRAP", "127.0.0.1:21092")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@dataclass
class LoadResult:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def line(self) -> str:
        return (
            f"{self.name:<44} {self.throughput:9.1f} req/s   p50 {self.p(50):7.2f} ms   p99 {self.p(99):7.2f} ms"
            f"   ({self.requests} ok, {self.errors} errors, {self.seconds:.1f} s)"
        )


async def closed_loop(
    name: str, call: Callable[[int], Awaitable[bool]], *, concurrency: int, seconds: float
) -> LoadResult:
    """`concurrency` workers calling back to back for `seconds`: the most the target sustains."""
    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline:
            counter += 1
            t0 = time.perf_counter()
            ok = await call(counter)
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(name, len(latencies), errors, time.perf_counter() - started, latencies)


@contextmanager
def scratch_database(prefix: str = "cl_bench"):
    """A database of the run's own (with PostGIS), dropped afterwards."""
    dsn = create_database(ADMIN_DSN, prefix)
    try:
        yield dsn
    finally:
        drop_database(ADMIN_DSN, dsn)


async def scratch_topics() -> Topics:
    """Topics of the run's own on the broker (a unique prefix), six partitions each."""
    topics = Topics(prefix=f"bench{uuid.uuid4().hex[:8]}.", partitions=6)
    remember(KAFKA, topics.prefix)  # deleted when the bench ends (`python -m bench`), as a test session does
    await ensure_topics(KAFKA, topics)
    return topics


_SIGNING_KEY, _bench_public = new_signing_key("bench")
_VERIFY_KEYS = json.dumps(
    {"keys": json.loads(_bench_public)["keys"] + json.loads(staff_tokens.PUBLIC_JWKS)["keys"]}
)


def service_env(dsn: str, topics: Topics, **settings: str) -> dict[str, str]:
    """The environment of a service process under bench: the run's database and topics, quiet logs, and `settings`
    (`CIVICLOOP_` names)."""
    return {
        **os.environ,
        "CIVICLOOP_PG_DSN": dsn,
        "CIVICLOOP_TOPIC_PREFIX": topics.prefix,
        "CIVICLOOP_KAFKA_BOOTSTRAP": KAFKA,
        "CIVICLOOP_LOG_LEVEL": "WARNING",
        "CIVICLOOP_VAULT_PEPPER": os.environ.get("CIVICLOOP_VAULT_PEPPER", uuid.uuid4().hex),
        # Intake signs staff tokens and every service verifies them: neither starts without its keys outside dev
        # and test. The bench's own signing key, and a key set that verifies it and the test tokens.
        "CIVICLOOP_SECRET_STAFF_TOKEN_SIGNING_KEY": os.environ.get(
            "CIVICLOOP_SECRET_STAFF_TOKEN_SIGNING_KEY", _SIGNING_KEY
        ),
        "CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS": os.environ.get(
            "CIVICLOOP_SECRET_STAFF_TOKEN_VERIFY_KEYS", _VERIFY_KEYS
        ),
        # The whole load comes from one address: no per-client limit unless the run asks for one.
        "CIVICLOOP_RATE_LIMIT_PER_CLIENT": os.environ.get("CIVICLOOP_RATE_LIMIT_PER_CLIENT", ""),
        **settings,
    }


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def service_pids(*services: ServiceProcess) -> dict[str, int]:
    """Service name -> pid of each started service, for the CPU meter."""
    return {s.name: s.proc.pid for s in services if s.proc is not None}


async def measured(
    meter: CpuMeter, name: str, url: str, load: Load, *, post: tuple[str, str] | None = None
) -> tuple[list[str], WrkResult]:
    """One wrk phase with the CPU of every process involved read around it: its figures and its CPU line."""
    meter.start()
    result = await wrk(name, url, load, post=post)
    usage = meter.stop()
    return [result.line(), usage.per_request_line(result.accepted, result.client_cpu_s)], result
