"""Seconds from SIGTERM to exit for every service process of `make run`, idle and under load.

The whole system (`bench.system.running_system`) is started twice: once every process gets SIGTERM while idle, once
while clients POST to intake and the gateway and read from the projections; each process's exit is timed from its
own signal. A process still running after `give_up_s` is killed and reported as such.

    uv run --frozen python -m bench.shutdown
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx

from bench.system import INTAKE_REPORT, OPEN311_FORM, System, running_system

GIVE_UP_S = 30.0


async def _exit_seconds(system: System) -> dict[str, float | None]:
    """SIGTERM to every process at once; seconds each took to exit (None: killed after `GIVE_UP_S`)."""
    sent = time.monotonic()
    for p in system.processes.values():
        assert p.proc is not None
        p.proc.send_signal(signal.SIGTERM)
    exited: dict[str, float | None] = {}
    while len(exited) < len(system.processes) and time.monotonic() - sent < GIVE_UP_S:
        for name, p in system.processes.items():
            if name not in exited and not p.alive():
                exited[name] = time.monotonic() - sent
        await asyncio.sleep(0.02)
    for name, p in system.processes.items():
        if name not in exited:
            exited[name] = None
            assert p.proc is not None
            p.proc.kill()
            p.proc.wait()
    return exited


async def _load(system: System, stop: asyncio.Event, counts: dict[str, int]) -> None:
    async def intake(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            body = INTAKE_REPORT.replace("{unique}", uuid.uuid4().hex).replace("{lat}", "34.05")
            body = body.replace("{long}", "-118.24")
            await _call(
                counts,
                client.post(
                    f"{system.url('intake')}/api/v1/requests",
                    content=body,
                    headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
                ),
            )

    async def gateway(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            form = OPEN311_FORM.replace("{unique}", uuid.uuid4().hex).replace("{lat}", "34.05")
            form = form.replace("{long}", "-118.24")
            await _call(
                counts,
                client.post(
                    f"{system.url('open311-gateway')}/open311/v2/requests.json",
                    content=f"api_key={system.partner_key}&{form}",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                ),
            )

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*[intake(client) for _ in range(8)], *[gateway(client) for _ in range(8)])


async def _call(counts: dict[str, int], call: object) -> None:
    try:
        response = await call  # type: ignore[misc]
        kind = str(response.status_code)
    except httpx.HTTPError as exc:
        kind = type(exc).__name__
        await asyncio.sleep(0.05)
    counts[kind] = counts.get(kind, 0) + 1


def _report(title: str, exited: dict[str, float | None]) -> None:
    print(title)
    for name, seconds in exited.items():
        took = f"killed after {GIVE_UP_S:.0f} s" if seconds is None else f"{seconds:.2f} s"
        print(f"  {name:<20} {took}")


async def main() -> None:
    async with running_system("cl_bench_stop") as system:
        _report("SIGTERM, idle:", await _exit_seconds(system))
    async with running_system("cl_bench_stop") as system:
        stop, counts = asyncio.Event(), {}
        load = asyncio.create_task(_load(system, stop, counts))
        await asyncio.sleep(5)  # under load: the clients have been posting for a while
        exited = await _exit_seconds(system)
        stop.set()
        await load
        _report("SIGTERM under load (16 clients posting to intake and the gateway):", exited)
        print(f"  client outcomes: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    asyncio.run(main())
