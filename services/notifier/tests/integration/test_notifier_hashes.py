"""`civicloop-notifier hashes` on the real broker and PostgreSQL: the content hash of the notifier's dispatch state
(never rebuilt from the log), unchanged by a replay of the whole log, changed by a message sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from civicloop_events.payloads import NotificationChannel, StatusChanged
from civicloop_notifier.database import migrate
from civicloop_runtime.db import open_pool
from civicloop_runtime.settings import ServiceSettings
from civicloop_runtime.state_hashes import hash_lines, state_hash
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_testing.polling import eventually
from civicloop_testing.processes import script
from civicloop_testing.run_settings import cli_env
from conftest import PEPPER
from notifier_harness import Harness, agent, new_number, settings_for
from psycopg_pool import AsyncConnectionPool

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def fresh_notifier_dsn(fresh_database_dsn: str) -> str:
    """A database of the test's own: the hash covers every table of the schema."""
    migrate(ServiceSettings(pg_dsn=fresh_database_dsn).sqlalchemy_url)
    return fresh_database_dsn


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_pool(fresh_notifier_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(fresh_notifier_dsn, min_size=1, max_size=4, name="notifier-hash-tests")
    yield pool
    await pool.close()


async def settled(pool: AsyncConnectionPool, number: str, count: int) -> None:
    """`count` of the request's messages are no longer pending."""

    async def probe() -> bool:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "select count(*) from notifier.messages where request_id = %s and state <> 'pending'",
                (number,),
            )
            row = await cur.fetchone()
        return bool(row and row[0] >= count)

    await eventually(probe, what=f"{count} messages of {number} settled")


async def hashes(harness: Harness) -> list[str]:
    process = await asyncio.create_subprocess_exec(
        script("civicloop-notifier"),
        "hashes",
        env=cli_env(harness.settings, PATH="/usr/bin:/bin", CIVICLOOP_LOG_LEVEL="WARNING"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()


async def test_the_notifiers_state_hash_is_unchanged_by_a_replay_and_changed_by_a_message(
    fresh_notifier_dsn, fresh_pool, fresh_topics, kafka_bootstrap
):
    harness = Harness(
        settings_for(fresh_notifier_dsn, fresh_topics, kafka_bootstrap),
        fresh_topics,
        kafka_bootstrap,
        ResidentKeyVault(fresh_pool, pepper=PEPPER),
    )
    number = new_number()
    async with harness.running() as notifier:
        await harness.publish(
            await harness.submitted(number),
            agent(number, StatusChanged(status="acknowledged", previous_status="open")),
        )
        await settled(notifier.pool, number, 2)
    sent = await hashes(harness)
    hashed = await state_hash(fresh_notifier_dsn, "notifier")
    assert sent == hash_lines(hashed)  # every state table, then the whole
    assert {"messages", "attempts", "requests", "opt_outs"} <= set(hashed.tables)
    assert not {"inbox", "consumer_positions", "alembic_version"} & set(hashed.tables)

    replay_group = harness.settings.requests_consumer_name + ".replay"
    async with harness.running(requests_consumer_name=replay_group) as replaying:  # the whole log again
        await harness.applied(replaying)
        assert await replaying.sender_loop.drain() == 0
    assert await hashes(harness) == sent  # a replay sends nothing and changes nothing of the dispatch state

    async with harness.running() as notifier:
        await harness.publish(agent(number, StatusChanged(status="closed", previous_status="acknowledged")))
        await settled(notifier.pool, number, 3)
    changed = await hashes(harness)
    assert changed[-1] != sent[-1]
    assert len(harness.senders[NotificationChannel.sms].sent) == 3
