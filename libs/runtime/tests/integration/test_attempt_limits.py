"""Attempts per key on real PostgreSQL: counted for every replica at once, never more than the limit however many
ask together, handed back when legitimate, and free again when the window ends."""

import asyncio

import pytest
import pytest_asyncio
from civicloop_runtime.attempt_limits import ATTEMPT_MIGRATIONS, PostgresAttemptLimit
from civicloop_runtime.migrations import is_current, upgrade
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def pools(fresh_database_dsn):
    """Two pools on one database: two replicas' connections."""
    url = "postgresql+psycopg://" + fresh_database_dsn.removeprefix("postgresql://")
    upgrade(url, ATTEMPT_MIGRATIONS, "attempts")
    assert is_current(url, ATTEMPT_MIGRATIONS, "attempts")
    opened = [AsyncConnectionPool(fresh_database_dsn, open=False, max_size=20) for _ in range(2)]
    for pool in opened:
        await pool.open()
    yield opened
    for pool in opened:
        await pool.close()


def limit(pool, *, max_attempts=3, window_s=900.0, scope="track"):
    return PostgresAttemptLimit(pool, scope=scope, max_attempts=max_attempts, window_s=window_s)


async def test_past_the_limit_a_key_is_refused_on_every_replica_until_its_window_ends(pools):
    one, two = limit(pools[0]), limit(pools[1])
    assert [await one.reserve("AAAA-0001") for _ in range(2)] == [None, None]
    assert await two.reserve("AAAA-0001") is None
    refused = await two.reserve("AAAA-0001")
    assert refused is not None and 899 <= refused <= 900
    assert await one.reserve("AAAA-0001") is not None
    assert await one.reserve("AAAA-0002") is None  # another key is not held back
    assert await limit(pools[0], scope="other").reserve("AAAA-0001") is None  # nor another scope's


async def test_however_many_ask_together_only_the_limit_goes_ahead(pools):
    answers = await asyncio.gather(*(limit(pools[i % 2]).reserve("BBBB-0001") for i in range(16)))
    assert sum(a is None for a in answers) == 3


async def test_a_released_attempt_does_not_count(pools):
    one = limit(pools[0], max_attempts=1)
    for _ in range(5):
        assert await one.reserve("CCCC-0001") is None
        await one.release("CCCC-0001")
    assert await one.reserve("CCCC-0001") is None
    assert await one.reserve("CCCC-0001") is not None


async def test_a_window_that_ended_counts_afresh(pools):
    one = limit(pools[0], max_attempts=1, window_s=1.0)
    assert await one.reserve("DDDD-0001") is None
    retry_after_s = await one.reserve("DDDD-0001")
    assert retry_after_s == 1
    await asyncio.sleep(retry_after_s)  # Retry-After's promise: the window has ended by then
    assert await one.reserve("DDDD-0001") is None


async def test_ended_windows_are_purged(pools):
    one = limit(pools[0], max_attempts=1, window_s=0.5, scope="purged")
    assert await one.reserve("EEEE-0001") is None
    await asyncio.sleep(0.6)  # the window's length itself: its row is then an ended one
    await limit(pools[0], scope="purged", window_s=0.5).reserve("EEEE-0002")  # a new process purges at once
    async with pools[0].connection() as conn:
        keys = await (
            await conn.execute("select key from attempts.windows where scope = 'purged'")
        ).fetchall()
    assert keys == [("EEEE-0002",)]
