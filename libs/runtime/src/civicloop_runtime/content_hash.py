"""A read model's content hash: what a rebuild prints, so two builds of the same log can be compared by eye or by a
script without dumping the tables.

Each table's hash is the SHA-256 of its rows, one per line, each row its columns as canonical JSON (PostgreSQL's
`to_jsonb`: keys in a fixed order, no whitespace choices), the lines sorted bytewise (`collate "C"`, whatever the
database's locale), so the hash does not depend on insertion order, physical layout or a primary key. The session
settings that change how values print (time zone, interval style, float digits) are fixed for the read. Columns that
record when a row was written rather than what the log said (e.g. a `default now()` the fold never sets) are named
per table and left out. The read model's hash is the SHA-256 of its tables' "schema.table hash" lines in name order.

Rows are streamed from the server one at a time, so a table of any size hashes in bounded memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

# How values print inside to_jsonb's text: fixed so a different server or session default cannot change a hash.
_CANONICAL_SESSION = (
    "set local timezone to 'UTC'",
    "set local intervalstyle to 'iso_8601'",
    "set local extra_float_digits to 1",
)


@dataclass(frozen=True)
class ReadModelHash:
    """The content hash of each table of one schema's read model, and of the whole."""

    schema: str
    tables: dict[str, str] = field(default_factory=dict)

    @property
    def combined(self) -> str:
        return combine(self.schema, self.tables)


def combine(schema: str, table_hashes: Mapping[str, str]) -> str:
    """One hash for the read model: its tables' hashes, in table-name order."""
    digest = hashlib.sha256()
    for table in sorted(table_hashes):
        digest.update(f"{schema}.{table} {table_hashes[table]}\n".encode())
    return digest.hexdigest()


def _rows_query(schema: str, table: str, ignore: Sequence[str]) -> sql.Composed:
    return sql.SQL(
        "select row from (select (to_jsonb(t) - {ignore}::text[])::text as row from {table} t) rows"
        ' order by row collate "C"'
    ).format(ignore=sql.Literal(list(ignore)), table=sql.Identifier(schema, table))


async def table_hash(
    conn: psycopg.AsyncConnection[Any], schema: str, table: str, *, ignore: Sequence[str] = ()
) -> str:
    """The content hash of `schema.table` without the columns in `ignore`."""
    digest = hashlib.sha256()
    async with conn.transaction():
        for setting in _CANONICAL_SESSION:
            await conn.execute(setting)
        async for (row,) in conn.cursor().stream(_rows_query(schema, table, ignore)):
            digest.update(row.encode())
            digest.update(b"\n")
    return digest.hexdigest()


async def read_model_hash(
    conn: psycopg.AsyncConnection[Any],
    schema: str,
    tables: Iterable[str],
    *,
    ignore: Mapping[str, Sequence[str]] | None = None,
) -> ReadModelHash:
    """The hash of each of `tables` in `schema` (`ignore` names, per table, the columns left out)."""
    ignore = ignore or {}
    hashes = {table: await table_hash(conn, schema, table, ignore=ignore.get(table, ())) for table in tables}
    return ReadModelHash(schema=schema, tables=hashes)


async def read_model_hash_at(
    dsn: str, schema: str, tables: Iterable[str], *, ignore: Mapping[str, Sequence[str]] | None = None
) -> ReadModelHash:
    """`read_model_hash` on a connection of its own (what a command calls after its pool has closed)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await read_model_hash(conn, schema, tables, ignore=ignore)
