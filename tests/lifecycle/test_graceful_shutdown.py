"""Every service process of `make run` exits soon after SIGTERM, with its work stopped: while its broker answers,
and while it does not (the case that once kept a gateway running past its grace period).

Each process runs as `make run` runs it (its console script) on a throwaway broker reached through a proxy, so the
test can take the broker away without touching the shared one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from civicloop_events.topics import Topics, ensure_topics
from civicloop_testing import create_database, drop_database
from civicloop_testing.faults import ThrowawayKafka
from civicloop_testing.processes import free_port, script

from bench.system import MIGRATIONS, SPECS

# A broker or database of the test's own is stopped or cut off: the fault suite (`make test-faults`), not `make test`.
pytestmark = [pytest.mark.integration, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]
EXIT_WITHIN_S = 10.0  # the grace period this asks for; a process that needs SIGKILL fails the test


@dataclass
class Process:
    name: str
    args: list[str]
    log: Path
    http_port: int | None
    proc: subprocess.Popen[bytes] | None = None
    exit_s: float | None = field(default=None)

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            self.args, env=env, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )

    async def ready(self, client: httpx.AsyncClient, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, f"{self.name} exited at start; see {self.log}"
            if self.http_port is None:
                return
            try:
                if (await client.get(f"http://127.0.0.1:{self.http_port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
        pytest.fail(f"{self.name} not ready in {timeout_s:.0f} s; see {self.log}")


@pytest.fixture(scope="module")
def migrated_dsn(pg_admin_dsn: str) -> Iterator[str]:
    dsn = create_database(pg_admin_dsn, "cl_stop")
    env = {**os.environ, "CIVICLOOP_PG_DSN": dsn}
    for migration in MIGRATIONS:
        subprocess.run([script(migration), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest_asyncio.fixture(loop_scope="session")
async def system(migrated_dsn: str, tmp_path: Path) -> AsyncIterator[tuple[ThrowawayKafka, list[Process]]]:
    """Every process on its own throwaway broker, ready; killed afterwards whatever happened."""
    async with ThrowawayKafka() as kafka:
        topics = Topics(prefix="stop.", partitions=2)
        await ensure_topics(kafka.bootstrap, topics)
        env = {
            **os.environ,
            "CIVICLOOP_PG_DSN": migrated_dsn,
            "CIVICLOOP_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "CIVICLOOP_TOPIC_PREFIX": topics.prefix,
            "CIVICLOOP_TOPIC_PARTITIONS": str(topics.partitions),
            "CIVICLOOP_ENV": "test",
            "CIVICLOOP_DEFAULT_JURISDICTION_ID": "demo",
        }
        processes = []
        for spec in SPECS:  # every process of `make run`, as the whole-system bench starts them
            port = free_port() if spec.http else None
            argv = [script(spec.script), *(a.replace("{port}", str(port)) for a in spec.args)]
            processes.append(Process(spec.name, argv, tmp_path / f"{spec.name}.log", port))
        try:
            for p in processes:
                p.start(env)
            async with httpx.AsyncClient(timeout=5) as client:
                await asyncio.gather(*(p.ready(client) for p in processes))
            yield kafka, processes
        finally:
            for p in processes:
                if p.proc is not None and p.proc.poll() is None:
                    p.proc.kill()
                    p.proc.wait()


async def terminate_all(processes: list[Process]) -> None:
    """SIGTERM to every process at once; each one's seconds to exit (None: still running after twice the bound)."""
    sent = time.monotonic()
    for p in processes:
        assert p.proc is not None
        p.proc.send_signal(signal.SIGTERM)
    while time.monotonic() - sent < 2 * EXIT_WITHIN_S:
        for p in processes:
            assert p.proc is not None
            if p.exit_s is None and p.proc.poll() is not None:
                p.exit_s = time.monotonic() - sent
        if all(p.exit_s is not None for p in processes):
            break
        await asyncio.sleep(0.05)


def assert_exited_cleanly(processes: list[Process]) -> None:
    timings = {p.name: None if p.exit_s is None else round(p.exit_s, 2) for p in processes}
    print(f"seconds from SIGTERM to exit: {timings}")
    slow = [p.name for p in processes if p.exit_s is None or p.exit_s > EXIT_WITHIN_S]
    assert not slow, f"still running {EXIT_WITHIN_S:.0f} s after SIGTERM: {slow} ({timings})"
    failed = {p.name: p.proc.returncode for p in processes if p.proc is not None and p.proc.returncode != 0}
    assert not failed, f"exit codes after SIGTERM: {failed}; logs in {processes[0].log.parent}"


async def test_every_process_exits_soon_after_sigterm_while_the_broker_answers(system):
    _, processes = system
    await terminate_all(processes)
    assert_exited_cleanly(processes)


async def test_every_process_exits_soon_after_sigterm_while_the_broker_is_gone(system):
    kafka, processes = system
    await kafka.proxy.cut()
    await asyncio.sleep(2)  # the clients have noticed: connections dropped, reconnections refused
    await terminate_all(processes)
    assert_exited_cleanly(processes)
