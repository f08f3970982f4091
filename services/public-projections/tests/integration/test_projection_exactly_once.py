"""A projection killed mid-stream and restarted applies every event exactly once."""

from __future__ import annotations

import asyncio
import random
import sys
from collections import Counter

import psycopg
import pytest
import pytest_asyncio
from civicloop_testing.polling import eventually
from projection_events import comment, new_jurisdiction, new_number, status_changed, submitted
from projection_harness import agent_caught_up, bootstrapped, env_for, read_log, settings_for

pytestmark = pytest.mark.integration

REQUESTS = 30
EVENTS_PER_REQUEST = 10  # 300 events over 30 requests, spread over the topic's partitions
STATUSES = ["acknowledged", "in_progress", "on_hold", "in_progress", "closed"]


@pytest.fixture
def settings(fresh_migrated_dsn, fresh_topics, kafka_bootstrap):
    # The broker's minimum session: a killed member's partitions are handed over as soon as the broker allows.
    # Small batches: a whole 300-event log fits in one default batch, and the kills must land mid-stream (and
    # mid-batch) for the test to mean anything.
    return settings_for(
        fresh_migrated_dsn,
        fresh_topics,
        kafka_bootstrap,
        consumer_session_timeout_ms=6000,
        consumer_batch_max_records=5,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def projections(settings):
    async with bootstrapped(settings) as p:
        yield p


async def publish_lifecycles(producer, requests: int = REQUESTS) -> list:
    rng = random.Random(7)
    j = new_jurisdiction()
    positions = []
    for _ in range(requests):
        number = new_number()
        positions.append(
            await producer.publish(submitted(number, j, lat=34 + rng.random() / 10, long=-118.3))
        )
        for i in range(1, EVENTS_PER_REQUEST):
            if i % 2:
                event = status_changed(number, j, STATUSES[(i // 2) % len(STATUSES)], minutes=i)
            else:
                event = comment(number, j, f"note {i}", minutes=i)
            positions.append(await producer.publish(event))
    return positions


async def applied_count(projections) -> int:
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select count(*) from projections.inbox where consumer = %s",
            (projections.settings.agent_consumer_name,),
        )
        return (await cur.fetchone())[0]


async def assert_log_applied_exactly_once(projections, kafka_bootstrap) -> None:
    topics = projections.settings.topics
    log = await read_log(kafka_bootstrap, topics.request_events, topics.partitions)
    assert len(log) == REQUESTS * EVENTS_PER_REQUEST
    per_request = Counter(event.request_id for _, _, event in log)
    last_status = {}
    for _, _, event in log:
        if event.type == "request.status.changed":
            last_status[event.request_id] = event.payload.status.value

    async with projections.pool.connection() as conn:
        cur = await conn.execute("select request_number, event_count, status from projections.agent_requests")
        rows = {number: (count, status) for number, count, status in await cur.fetchall()}
        cur = await conn.execute(
            "select event_id, request_number, partition, kafka_offset from projections.agent_request_history"
        )
        history = await cur.fetchall()

    assert rows == {number: (count, last_status[number]) for number, count in per_request.items()}
    assert sorted((str(e), n, p, o) for e, n, p, o in history) == sorted(
        (str(event.event_id), event.request_id, p, o) for p, o, event in log
    )
    assert await applied_count(projections) == len(log)


@pytest.mark.faults
async def test_cancelled_mid_stream_and_restarted_applies_every_event_once(
    projections, request_producer, kafka_bootstrap
):
    positions = await publish_lifecycles(request_producer)
    total = len(positions)
    killed_at = []
    for threshold in (20, 60, 110, 160):
        runner = projections.agent_runner()
        await runner.start()
        task = asyncio.create_task(runner.run())
        await eventually(lambda t=threshold: _at_least(projections, t), what=f"{threshold} events applied")
        await asyncio.sleep(random.uniform(0, 0.02))
        task.cancel()  # wherever it is: mid-transaction, between DB commit and Kafka commit, in a poll
        await asyncio.gather(task, return_exceptions=True)
        killed_at.append(await applied_count(projections))
        # A dead process's group membership ends with its session; releasing it here only saves the wait.
        await runner.stop()
    # Every kill came after something was applied, and most landed mid-stream: a batch fold is fast enough that
    # the log's end can come between seeing a threshold and the cancel.
    assert all(n > 0 for n in killed_at) and sum(n < total for n in killed_at) >= 3, killed_at

    await resume_until_caught_up(projections, positions)
    await assert_log_applied_exactly_once(projections, kafka_bootstrap)


async def resume_until_caught_up(projections, positions) -> None:
    """A fresh consumer of the agent view, run until it has applied every position, then stopped."""
    runner = projections.agent_runner()
    await runner.start()
    task = asyncio.create_task(runner.run())
    try:
        await agent_caught_up(projections, positions)
    finally:
        await runner.stop()
        await asyncio.wait_for(task, 10)


async def _at_least(projections, n: int) -> bool:
    return await applied_count(projections) >= n


@pytest.mark.faults
async def test_a_consumer_process_killed_with_sigkill_inside_its_transaction_is_resumed_by_another_exactly_once(
    projections, request_producer, kafka_bootstrap
):
    half = REQUESTS // 2
    positions = await publish_lifecycles(request_producer, half)
    first_half = len(positions)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_projections.entrypoints.cli",
        "consume",
        env=env_for(projections.settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    blocker = await psycopg.AsyncConnection.connect(projections.settings.pg_dsn)
    try:
        await eventually(
            lambda: _at_least(projections, len(positions)),
            timeout=60,
            what="the consumer process to apply events",
        )
        # Writes to the view wait behind this lock, so the process is caught inside its next transaction, with
        # the inbox rows of that batch written and not committed, when SIGKILL lands.
        await blocker.execute("lock table projections.agent_request_history in share mode")
        positions += await publish_lifecycles(request_producer, REQUESTS - half)
        await eventually(
            lambda: _waiting_for_a_lock(projections),
            timeout=60,
            what="the consumer to wait inside its transaction",
        )
    finally:
        process.kill()  # SIGKILL: no rollback hook, no group leave, no offset commit
        await asyncio.wait_for(process.wait(), 10)
        await blocker.close()
    assert await applied_count(projections) == first_half

    await resume_until_caught_up(projections, positions)
    await assert_log_applied_exactly_once(projections, kafka_bootstrap)


async def _waiting_for_a_lock(projections) -> bool:
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
        )
        return (await cur.fetchone())[0] > 0
