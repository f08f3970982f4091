"""The database cut off under a stream of submissions: refused at once in intake's format while it lasts, served
again within seconds of its return, every accepted submission on the log once and in the track view.

Intake reaches the real PostgreSQL through a TCP proxy of the test's own, which the test cuts: the shared server is
never stopped.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from civicloop_events import decode_event
from civicloop_testing import read_all_records
from civicloop_testing.faults import TcpProxy
from civicloop_testing.polling import eventually
from intake_harness import intake_settings, running
from psycopg.conninfo import conninfo_to_dict, make_conninfo

pytestmark = [pytest.mark.integration, pytest.mark.faults]

BODY = {"service_code": "pothole", "description": "Deep hole", "lat": 38.9, "long": -77.0}


async def test_with_the_database_cut_off_submissions_are_refused_at_once_and_served_again_within_seconds(
    intake,
):
    info = conninfo_to_dict(intake.settings.pg_dsn)
    async with TcpProxy(str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))) as proxy:
        dsn = make_conninfo(intake.settings.pg_dsn, host="127.0.0.1", port=proxy.port)
        settings = intake_settings(dsn, intake.settings.kafka_bootstrap, intake.topics, pool_timeout_s=2)
        async with running(settings) as client:
            accepted: dict[str, str] = {}
            n = 0

            async def submit() -> int:
                nonlocal n
                n += 1
                key = f"{intake.topics.prefix}db-{n}"
                r = await client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": key})
                if r.status_code == 201:
                    accepted[key] = r.json()["request_number"]
                else:
                    assert r.status_code == 503 and r.headers["retry-after"], r.text
                    assert r.json()["error"] in ("database_unavailable", "event_log_unavailable"), r.text
                return r.status_code

            assert await submit() == 201
            await proxy.cut()
            timings = []
            for _ in range(10):
                started_at = time.monotonic()
                assert await submit() == 503
                timings.append(time.monotonic() - started_at)
            assert max(timings) < 3, timings  # the pool's wait for a connection (2 s here) at most

            await proxy.restore()
            back_at = time.monotonic()

            async def served() -> bool:
                return await submit() == 201

            await eventually(served, timeout=30, interval=0.25, what="a submission accepted after the outage")
            recovered_s = time.monotonic() - back_at
            assert recovered_s < 10, f"served again {recovered_s:.1f}s after the database returned"
            print(
                f"intake: served again {recovered_s:.2f}s after the database returned; refused in ≤{max(timings):.2f}s"
            )

        records = await read_all_records(
            intake.settings.kafka_bootstrap, intake.topics.request_events, intake.topics.partitions
        )
    submitted = [e for e in map(decode_event, (r.value for r in records)) if e.type == "request.submitted"]
    mine = [e for e in submitted if e.request_id in set(accepted.values())]
    assert sorted(e.request_id for e in mine) == sorted(accepted.values())
    assert [i for i, c in Counter(str(e.event_id) for e in mine).items() if c > 1] == []

    async def all_tracked() -> bool:
        async with intake.pool.connection() as conn:
            cur = await conn.execute(
                "select count(*) from intake.tracking where request_number = any(%s)",
                (list(accepted.values()),),
            )
            return (await cur.fetchone())[0] == len(accepted)

    await eventually(all_tracked, what="every accepted submission in the track view")
