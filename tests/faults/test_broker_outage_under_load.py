"""The issue's operator trial, as a test: intake run as `make run` runs it (its own process), a steady 20 submissions
a second from clients that retry with the same Idempotency-Key and back off, and the broker down for 30 s.

Asserted: readiness says so within 5 s both ways; submissions succeed again within 10 s of the broker's return;
every submission a client was told "yes" about is on the log exactly once, none under two numbers, and no event
stands on the log twice; intake's memory ends near where it started.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from civicloop_events import decode_event
from civicloop_testing import read_all_records
from civicloop_testing.polling import eventually

from bench.rss import process_tree_rss_mb

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.slow]

RATE = 20  # submissions started per second
OUTAGE_S = 30
BODY = {"service_code": "pothole", "description": "Outage trial", "lat": 34.05, "long": -118.24}


@dataclass
class Trial:
    url: str
    answers: dict[str, str] = field(default_factory=dict)  # idempotency key -> request number
    refusals: Counter[int] = field(default_factory=Counter)

    async def client(self, http: httpx.AsyncClient, key: str) -> None:
        """One resident's submission: retried with the same key, backing off, until it is accepted."""
        delay = 0.25
        while True:
            try:
                r = await http.post(self.url, json=BODY, headers={"Idempotency-Key": key}, timeout=12)
            except httpx.TransportError:
                self.refusals[0] += 1
            else:
                if r.status_code in (200, 201):
                    number = r.json()["request_number"]
                    assert self.answers.setdefault(key, number) == number, "one key, one number"
                    return
                assert r.status_code == 503, r.text
                self.refusals[503] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4)


async def test_a_30s_broker_outage_under_steady_load_loses_nothing_and_recovers_within_seconds(intake_alone):
    intake = await intake_alone("outage")
    kafka, base = intake.kafka, intake.process.url
    trial = Trial(intake.submit_url)
    async with httpx.AsyncClient() as http:
        rss_before = process_tree_rss_mb(intake.pid)
        clients: list[asyncio.Task[None]] = []
        stop_load = asyncio.Event()

        async def load() -> None:
            while not stop_load.is_set():
                clients.append(asyncio.create_task(trial.client(http, f"trial-{uuid.uuid4()}")))
                await asyncio.sleep(1 / RATE)

        loader = asyncio.create_task(load())
        await asyncio.sleep(10)
        await kafka.stop()
        down_at = time.monotonic()
        await eventually(lambda: _ready(http, base, False), timeout=10, interval=0.2, what="not ready")
        not_ready_after = time.monotonic() - down_at
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        await kafka.start()
        back_at = time.monotonic()
        await eventually(lambda: _ready(http, base, True), timeout=30, interval=0.2, what="ready")
        ready_after = time.monotonic() - back_at
        await eventually(lambda: intake.accepts(http), timeout=60, interval=0.2, what="a new yes")
        served_after = time.monotonic() - back_at
        await asyncio.sleep(10)
        stop_load.set()
        await loader
        await asyncio.wait_for(asyncio.gather(*clients), timeout=90)
        rss_after = process_tree_rss_mb(intake.pid)
    topics = intake.topics
    records = await read_all_records(kafka.bootstrap, topics.request_events, topics.partitions)

    submitted = [e for e in (decode_event(r.value) for r in records) if e.type == "request.submitted"]
    on_log = Counter(e.request_id for e in submitted)
    ids = Counter(str(e.event_id) for e in submitted)
    told_yes = set(trial.answers.values())
    print(
        f"\n{len(clients)} submissions from retrying clients, all accepted; {sum(trial.refusals.values())} refusals "
        f"on the way ({dict(trial.refusals)}); not ready {not_ready_after:.1f}s after the broker stopped, ready "
        f"{ready_after:.1f}s and a new submission accepted {served_after:.1f}s after it returned; RSS "
        f"{rss_before:.0f} MB before, {rss_after:.0f} MB after"
    )
    assert len(trial.answers) == len(clients), "every client was told yes in the end"
    assert len(told_yes) == len(clients), "no two keys share a number"
    assert told_yes <= set(on_log), "nothing accepted is missing from the log"
    assert [n for n, c in on_log.items() if c > 1 and n in told_yes] == []
    assert [i for i, c in ids.items() if c > 1] == [], "no event stands twice on the log"
    assert not_ready_after < 5 and ready_after < 5
    assert served_after < 10
    assert rss_after < rss_before + 50


async def _ready(http: httpx.AsyncClient, base: str, expected: bool) -> bool:
    try:
        return ((await http.get(f"{base}/readyz", timeout=3)).status_code == 200) is expected
    except httpx.TransportError:
        return False
