"""The whole system as `make run` runs it, on a database and topics of the bench's own.

Every service process of `deploy/local/services.sh` (intake, the public projections, the Open311 gateway, outbound's
sender and its Open311 poller, geo), each its console script on a free port, configured as `make run` configures
them, and seeded as `make seed` seeds: `deploy/local/seed_demo.py` publishes the demo catalogue and service areas (the
real LA neighborhood councils when ../shared/data is there) and loads the gazetteer, all on the bench's scratch
database and topics; a partner key is authorised for the Open311 POSTs.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from civicloop_events.payloads import PartnerAuthorised
from civicloop_events.topics import Topics
from civicloop_gateway.domain.partner_keys import issue_key
from civicloop_testing.events import config_event, publish_events
from civicloop_testing.processes import free_port, script

from bench.cpu import Watch
from bench.harness import KAFKA, ROOT, database_name, scratch_database, scratch_topics, service_env
from bench.lag import LagSampler

SEED = ROOT / "deploy" / "local" / "seed_demo.py"
INTAKE_REPORT = (
    '{"service_code": "pothole", "description": "Deep pothole in the bus lane {unique}",'
    ' "lat": {lat}, "long": {long}, "source": "web"}'
)
OPEN311_FORM = (
    "jurisdiction_id=demo&service_code=graffiti&lat={lat}&long={long}&description=Tag+on+the+wall+{unique}"
)


@dataclass(frozen=True)
class Spec:
    name: str
    script: str
    args: tuple[str, ...]  # after the script; "{port}" is the process's port
    http: bool = True


# As deploy/local/services.sh lists them.
SPECS = (
    Spec("intake", "civicloop-intake", ("serve", "--host", "127.0.0.1", "--port", "{port}")),
    Spec("public-projections", "civicloop-projections", ("serve", "--host", "127.0.0.1", "--port", "{port}")),
    Spec("open311-gateway", "civicloop-gateway", ("serve", "--host", "127.0.0.1", "--port", "{port}")),
    Spec("open311-outbound", "civicloop-outbound", ("run", "--host", "127.0.0.1", "--port", "{port}")),
    Spec("open311-poller", "civicloop-outbound", ("open311", "run"), http=False),
    Spec("geo", "civicloop-geo", ("serve", "--host", "127.0.0.1", "--port", "{port}")),
)
MIGRATIONS = (
    "civicloop-intake",
    "civicloop-projections",
    "civicloop-gateway",
    "civicloop-outbound",
    "civicloop-geo",
)


@dataclass
class Process:
    spec: Spec
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return ROOT / ".run" / "logs" / f"bench-system-{self.spec.name}-{self.port}.log"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        args = [a.replace("{port}", str(self.port)) for a in self.spec.args]
        self.proc = subprocess.Popen(
            [script(self.spec.script), *args],
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = 90) -> None:
        """Ready on /readyz; a process without HTTP (the poller) is ready when it is still alive by then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.spec.name} exited; see {self.log}")
            if not self.spec.http:
                return
            try:
                if (await client.get(f"{self.url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.spec.name} not ready in {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class System:
    dsn: str
    topics: Topics
    processes: dict[str, Process]
    partner_key: str
    lag: LagSampler

    def url(self, name: str) -> str:
        return self.processes[name].url

    def watch(self) -> Watch:
        """Every service process, the broker and PostgreSQL, for the CPU meter."""
        pids = {name: p.proc.pid for name, p in self.processes.items() if p.proc is not None}
        return Watch(services=pids, database=database_name(self.dsn))

    def pids(self) -> dict[str, int]:
        return {name: p.proc.pid for name, p in self.processes.items() if p.proc is not None}


def run_tool(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr or done.stdout}")


def environment(dsn: str, topics: Topics, gateway_port: int) -> dict[str, str]:
    """What deploy/local/services.sh exports, on the bench's database and topics; the venv's scripts first on PATH
    (the seed calls `civicloop-geo`)."""
    env = service_env(
        dsn,
        topics,
        CIVICLOOP_PUBLIC_BASE_URL=f"http://127.0.0.1:{gateway_port}",
        CIVICLOOP_DEFAULT_JURISDICTION_ID="demo",
    )
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


async def seed(env: dict[str, str], topics: Topics) -> str:
    """`make seed` on the bench's topics and database, and a partner key for the Open311 POSTs (returned)."""
    await asyncio.to_thread(run_tool, [sys.executable, str(SEED), "config"], env)
    await asyncio.to_thread(run_tool, [sys.executable, str(SEED), "gazetteer"], env)
    key = issue_key()
    partner = PartnerAuthorised(
        client_id="bench", name="Bench partner", key_id=key.key_id, key_sha256=key.key_sha256
    )
    await publish_events(KAFKA, topics.jurisdiction_config, [config_event(partner, admin="bench")])
    return key.key


async def wait_accepting(system: System, timeout: float = 90) -> None:
    """Intake and the gateway learn the catalogue (and the gateway the partner) from the log: wait until a POST to
    each is accepted."""
    deadline = time.monotonic() + timeout
    report = (
        INTAKE_REPORT.replace("{unique}", "warm-up")
        .replace("{lat}", "34.0522")
        .replace("{long}", "-118.2437")
    )
    form = (
        OPEN311_FORM.replace("{unique}", "warm-up").replace("{lat}", "34.0522").replace("{long}", "-118.2437")
    )
    pending = {"intake", "open311-gateway"}
    async with httpx.AsyncClient(timeout=30) as client:
        while pending and time.monotonic() < deadline:
            if "intake" in pending:
                r = await client.post(
                    f"{system.url('intake')}/api/v1/requests",
                    content=report,
                    headers={"Content-Type": "application/json", "Idempotency-Key": f"warm-{uuid.uuid4()}"},
                )
                if r.status_code in (200, 201):
                    pending.discard("intake")
            if "open311-gateway" in pending:
                r = await client.post(
                    f"{system.url('open311-gateway')}/open311/v2/requests.json",
                    content=f"api_key={system.partner_key}&{form}",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                if r.status_code in (200, 201):
                    pending.discard("open311-gateway")
            if pending:
                await asyncio.sleep(0.3)
    if pending:
        raise RuntimeError(f"never accepted a POST: {sorted(pending)}")


@asynccontextmanager
async def running_system(prefix: str = "cl_bench_sys") -> AsyncIterator[System]:
    """Migrated, seeded, every process ready and accepting, every consumer caught up with the warm-up."""
    with scratch_database(prefix) as dsn:
        topics = await scratch_topics()
        processes = {spec.name: Process(spec, {}) for spec in SPECS}
        env = environment(dsn, topics, processes["open311-gateway"].port)
        for p in processes.values():
            p.env = env
        for migration in MIGRATIONS:
            await asyncio.to_thread(run_tool, [script(migration), "migrate"], env)
        partner_key = await seed(env, topics)
        system = System(dsn, topics, processes, partner_key, LagSampler.empty(dsn, KAFKA))
        try:
            for p in processes.values():
                p.start()
            async with httpx.AsyncClient(timeout=5) as client:
                await asyncio.gather(*(p.wait_ready(client) for p in processes.values()))
            await wait_accepting(system)
            await system.lag.wait_caught_up(timeout=120, every_schema_reads=topics.request_events)
            yield system
        finally:
            for p in processes.values():
                p.stop()
