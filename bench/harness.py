"""Shared pieces of the benchmarks: an isolated database and topics, service processes, load loops, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("CIVICLOOP_PG_DSN", "postgresql://postgres@127.0.0.1:55432/civicloop")
KAFKA = os.environ.get("CIVICLOOP_KAFKA_BOOTSTRAP", "127.0.0.1:39092")


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
        return (f"{self.name:<44} {self.throughput:9.1f} req/s   p50 {self.p(50):7.2f} ms   p99 {self.p(99):7.2f} ms"
                f"   ({self.requests} ok, {self.errors} errors, {self.seconds:.1f} s)")


async def closed_loop(name: str, call: Callable[[int], Awaitable[bool]], *, concurrency: int, seconds: float) -> LoadResult:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_database(prefix: str = "cl_bench"):
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = ADMIN_DSN.rpartition("/")[0] + "/" + name
    try:
        yield dsn
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


class ServiceProcess:
    """A service started the way `make run` starts it (its console script under uvicorn), on a free port."""

    def __init__(self, name: str, script: str, env: dict[str, str]) -> None:
        self.name, self.script, self.env = name, script, env
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = ROOT / ".run" / "logs" / f"bench-{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run_cli(self, *args: str) -> None:
        subprocess.run([self.script, *args], env=self.env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.script, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline:
                if self.proc and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; see {self.log}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {timeout} s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def script(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def summary_stats(values: list[float]) -> str:
    return f"mean {statistics.fmean(values):.2f}" if values else "n/a"
