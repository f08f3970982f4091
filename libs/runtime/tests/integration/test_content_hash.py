"""`content_hash` on the real PostgreSQL: the same rows give the same hash whatever their insertion order, the
session's time zone or the columns left out; any change of content changes it."""

from __future__ import annotations

import psycopg
import pytest
import pytest_asyncio
from civicloop_runtime.content_hash import combine, read_model_hash, read_model_hash_at, table_hash

pytestmark = pytest.mark.integration

ROWS = [
    (1, "open", "2026-12-01T10:00:00Z", 1.1, '{"b": 1, "a": [2, 3]}'),
    (2, "closed", "2026-12-02T11:30:00Z", 0.1 + 0.2, "{}"),
    (3, "open", "2026-12-03T23:59:59.5Z", -4.0, '{"x": null}'),
]


@pytest_asyncio.fixture(loop_scope="session")
async def dsn(fresh_database_dsn):
    async with await psycopg.AsyncConnection.connect(fresh_database_dsn, autocommit=True) as conn:
        await conn.execute("create schema model")
        for table in ("a", "b"):
            await conn.execute(
                f"""create table model.{table} (
                      id int primary key, status text, at timestamptz, score float8, extra jsonb,
                      written_at timestamptz not null default clock_timestamp())"""
            )
    return fresh_database_dsn


async def fill(conn: psycopg.AsyncConnection, table: str, rows) -> None:
    for row in rows:
        await conn.execute(
            f"insert into model.{table} (id, status, at, score, extra) values (%s, %s, %s, %s, %s)", row
        )


async def test_equal_content_hashes_equal_whatever_the_order_time_zone_and_write_times(dsn):
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await fill(conn, "a", ROWS)
        await fill(conn, "b", reversed(ROWS))
        ignore = ("written_at",)
        a = await table_hash(conn, "model", "a", ignore=ignore)
        b = await table_hash(conn, "model", "b", ignore=ignore)
        assert a == b
        # The write times differ between the tables: counted in, they tell the tables apart.
        assert await table_hash(conn, "model", "a") != await table_hash(conn, "model", "b")
        await conn.execute("set timezone to 'Pacific/Kiritimati'")
        assert await table_hash(conn, "model", "a", ignore=ignore) == a
        # The session's own settings are left as they were.
        cur = await conn.execute("show timezone")
        assert (await cur.fetchone())[0] == "Pacific/Kiritimati"


async def test_any_change_of_content_changes_the_hash(dsn):
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await fill(conn, "a", ROWS)
        ignore = ("written_at",)
        before = await table_hash(conn, "model", "a", ignore=ignore)
        seen = {before}
        for change in (
            "update model.a set status = 'closed' where id = 1",
            "update model.a set at = at + interval '1 microsecond' where id = 2",
            "update model.a set score = 1.1000000000000003 where id = 1",
            "update model.a set extra = '{\"x\": 0}' where id = 3",
            "delete from model.a where id = 3",
        ):
            await conn.execute(change)
            after = await table_hash(conn, "model", "a", ignore=ignore)
            assert after not in seen, change
            seen.add(after)
        empty = await table_hash(conn, "model", "b", ignore=ignore)
        assert (
            empty == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )  # sha256 of nothing


async def test_a_read_models_hash_combines_its_tables_in_name_order(dsn):
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await fill(conn, "a", ROWS)
        ignore = {"a": ("written_at",), "b": ("written_at",)}
        model = await read_model_hash(conn, "model", ["b", "a"], ignore=ignore)
    assert set(model.tables) == {"a", "b"}
    assert model.combined == combine("model", {"a": model.tables["a"], "b": model.tables["b"]})
    assert model.combined != combine("model", {"a": model.tables["b"], "b": model.tables["a"]})
    assert (await read_model_hash_at(dsn, "model", ["a", "b"], ignore=ignore)) == model
