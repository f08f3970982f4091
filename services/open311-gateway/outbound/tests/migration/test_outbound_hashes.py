"""`civicloop-outbound hashes` on the real PostgreSQL: the content hash of every table of outbound's state (its
dispatch state is never rebuilt from the log), a line per table and one for the whole, as a `rebuild` prints them;
a change shows in its table's line and the whole's only, and `--ignore table.column` leaves a column out."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import psycopg
import pytest
from civicloop_outbound import database
from civicloop_runtime.settings import ServiceSettings
from civicloop_runtime.state_hashes import hash_lines, state_hash

pytestmark = pytest.mark.integration


@pytest.fixture
def outbound_dsn(fresh_database_dsn: str) -> str:
    database.migrate(ServiceSettings(pg_dsn=fresh_database_dsn).sqlalchemy_url)
    return fresh_database_dsn


async def hashes(dsn: str, *args: str) -> list[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_outbound.entrypoints.cli",
        "hashes",
        *args,
        env={**os.environ, "CIVICLOOP_PG_DSN": dsn, "CIVICLOOP_LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()


def by_table(lines: list[str]) -> dict[str, str]:
    return {line.split()[1]: line.split()[2] for line in lines}


async def test_outbounds_state_hash_names_every_state_table_and_follows_a_change(outbound_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(outbound_dsn, autocommit=True) as conn:
        await conn.execute(
            "insert into outbound.bodies (jurisdiction_id, body_id, name, send_method, service_codes, definition,"
            " defined_at, last_event_id) values ('hash.example.gov', 'roads', 'Roads', 'email', '{POTHOLE}',"
            " '{\"body_id\": \"roads\"}', '2026-12-05T12:00:00Z', %s)",
            (uuid.uuid4(),),
        )
    first = await hashes(outbound_dsn)
    hashed = await state_hash(outbound_dsn, "outbound")
    assert first == hash_lines(hashed)
    assert {"bodies", "outbound_queue", "external_refs", "backend_updates_seen"} <= set(hashed.tables)
    assert not {"inbox", "consumer_positions", "alembic_version"} & set(hashed.tables)

    pause_left_out = ("--ignore", "bodies.paused", "--ignore", "bodies.paused_reason")
    ignoring_before = by_table(await hashes(outbound_dsn, *pause_left_out))
    assert ignoring_before["outbound.bodies"] != by_table(first)["outbound.bodies"]  # two columns fewer

    async with await psycopg.AsyncConnection.connect(outbound_dsn, autocommit=True) as conn:
        await conn.execute("update outbound.bodies set paused = true, paused_reason = 'storm'")
    paused = by_table(await hashes(outbound_dsn))
    before = by_table(first)
    assert {t for t in before if before[t] != paused[t]} == {"outbound.bodies", "outbound"}

    # The pause changed only the columns left out.
    assert by_table(await hashes(outbound_dsn, *pause_left_out)) == ignoring_before
