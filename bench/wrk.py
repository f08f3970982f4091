"""Closed-loop HTTP load with `wrk` (compiled, from Debian): the client is never the limit, as a Python one was.

Every run appends `wrk/report.lua`, whose `done()` hook prints one machine-readable line (WRK_SUMMARY {...}) that
is parsed here; POSTs go through `wrk/post.lua`, which makes every request unique (its own Idempotency-Key, the key
also in the body) and places it somewhere in Los Angeles. A `Load` with a `rate` adds `wrk/paced.lua`, which paces
the connections through wrk's `delay()` hook so the run offers that rate (see bench/pacing.py) instead of running
closed loop.
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.pacing import thread_interval_us

SCRIPTS = Path(__file__).resolve().parent / "wrk"
MARKER = "WRK_SUMMARY "


@dataclass(frozen=True)
class WrkResult:
    name: str
    requests: int  # responses received, whatever their status
    status_errors: int  # responses outside 2xx and 3xx
    socket_errors: int  # connect, read, write errors and timeouts
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    client_cpu_s: float  # wrk's own CPU time over the run
    offered_rate: float | None = None  # req/s a paced run offered; None for a closed loop

    @property
    def accepted(self) -> int:
        return self.requests - self.status_errors

    @property
    def throughput(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def errors_text(self) -> str:
        if not (self.status_errors or self.socket_errors):
            return "0 errors"
        return f"{self.status_errors} answers not 2xx/3xx, {self.socket_errors} socket errors or timeouts"

    def line(self) -> str:
        offered = f" (of {self.offered_rate:.0f} offered)" if self.offered_rate else ""
        return (
            f"{self.name:<44} {self.throughput:9.1f} req/s{offered}   p50 {self.p50_ms:7.2f} ms   p99 {self.p99_ms:7.2f} ms"
            f"   ({self.accepted} accepted, {self.errors_text()}, {self.seconds:.1f} s)"
        )


def parse_summary(
    name: str, output: str, client_cpu_s: float = 0.0, offered_rate: float | None = None
) -> WrkResult:
    """The WRK_SUMMARY line of a wrk run's output."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            s = json.loads(line[len(MARKER) :])
            return WrkResult(
                name=name,
                requests=s["requests"],
                status_errors=s["status_errors"],
                socket_errors=s["socket_errors"],
                seconds=s["duration_us"] / 1e6,
                p50_ms=s["p50_us"] / 1000,
                p90_ms=s["p90_us"] / 1000,
                p99_ms=s["p99_us"] / 1000,
                client_cpu_s=client_cpu_s,
                offered_rate=offered_rate,
            )
    raise RuntimeError(f"wrk printed no summary:\n{output}")


@dataclass(frozen=True)
class Load:
    """One wrk run's settings: wrk's own defaults for the issue's comparison (2 threads, 16 connections)."""

    connections: int = 16
    threads: int = 2
    seconds: float = 10
    timeout_s: float = 10
    rate: float | None = None  # req/s offered in total (paced by wrk/paced.lua); None: closed loop


def wrk_binary() -> str:
    found = shutil.which("wrk") or "/usr/bin/wrk"
    if not Path(found).exists():
        raise RuntimeError("wrk is not installed: `make bench-deps` installs it (Debian package wrk)")
    return found


def script_text(post: bool, load: Load) -> str:
    """The Lua of a run: the POST generator when `post`, the pacing when `load.rate`, and always the report hook."""
    parts = [(SCRIPTS / "post.lua").read_text()] if post else []
    if load.rate is not None:
        parts.append(f"PACE_INTERVAL_US = {thread_interval_us(load.rate, load.threads)!r}")
        parts.append((SCRIPTS / "paced.lua").read_text())
    parts.append((SCRIPTS / "report.lua").read_text())
    return "\n".join(parts)


def script_for(post: bool, load: Load) -> str:
    """The run's Lua (`script_text`), written to a file for wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-", delete=False) as fh:
        fh.write(script_text(post, load))
        return fh.name


def run_wrk(name: str, url: str, load: Load, *, post: tuple[str, str] | None = None) -> WrkResult:
    """wrk against `url` for `load.seconds`; `post` = (content type, body template with "{unique}")."""
    script = script_for(post is not None, load)
    try:
        args = [
            wrk_binary(),
            f"-t{load.threads}",
            f"-c{load.connections}",
            f"-d{load.seconds:g}s",
            f"--timeout={load.timeout_s:g}s",
            "-s",
            script,
            url,
        ]
        if post is not None:
            content_type, template = post
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            args += ["--", path, content_type, template, uuid.uuid4().hex[:12]]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return parse_summary(name, done.stdout, cpu, load.rate)
    finally:
        Path(script).unlink(missing_ok=True)


async def wrk(name: str, url: str, load: Load, *, post: tuple[str, str] | None = None) -> WrkResult:
    return await asyncio.to_thread(run_wrk, name, url, load, post=post)


def ratio(result: WrkResult, ceiling: WrkResult) -> str:
    return (
        f"{result.name + ' / ceiling':<44} throughput {result.throughput / ceiling.throughput:6.1%}"
        f"   p99 {result.p99_ms / ceiling.p99_ms:5.1f}x the ceiling's"
    )
