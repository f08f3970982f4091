"""`hashes`: the content hash of a service's state that is not rebuilt from the log (dispatch state: what was sent,
when, with which answer), in the lines a `rebuild` prints, so two copies of it (before and after an upgrade, a
restart, a replay; a deployment and its restored copy) can be compared without dumping the tables.

Every table of the schema is hashed (`civicloop_runtime.content_hash`) but the migrations' own (`alembic_version`)
and the consumers' bookkeeping (`inbox`, `consumer_positions`: when each event was applied, not what the state is);
`--ignore table.column` leaves out a column (e.g. a write time) where two copies are expected to differ. Only the
database is read, so the command never asks for the service's secrets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import psycopg
import typer

from civicloop_runtime.content_hash import ReadModelHash, read_model_hash_at
from civicloop_runtime.settings import ServiceSettings

NOT_STATE = frozenset({"alembic_version", "inbox", "consumer_positions"})

IGNORED = typer.Option(None, "--ignore", help="table.column to leave out (e.g. a write time), repeatable")


async def state_tables(dsn: str, schema: str) -> list[str]:
    """The schema's tables that hold the service's state (`NOT_STATE` left out), in name order."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = %s and table_type = 'BASE TABLE' order by table_name",
            (schema,),
        )
        return [row[0] for row in await cur.fetchall() if row[0] not in NOT_STATE]


async def state_hash(
    dsn: str, schema: str, *, ignore: Mapping[str, Sequence[str]] | None = None
) -> ReadModelHash:
    return await read_model_hash_at(dsn, schema, await state_tables(dsn, schema), ignore=ignore)


def hash_lines(hashed: ReadModelHash) -> list[str]:
    """`content-sha256 <schema>.<table> <hash>` per table, then `content-sha256 <schema> <hash>`."""
    lines = [
        f"content-sha256 {hashed.schema}.{table} {hashed.tables[table]}" for table in sorted(hashed.tables)
    ]
    return [*lines, f"content-sha256 {hashed.schema} {hashed.combined}"]


def parse_ignored(items: Sequence[str] | None) -> dict[str, list[str]]:
    """`table.column` items as table -> columns; an item without a dot is refused."""
    left_out: dict[str, list[str]] = {}
    for item in items or []:
        table, dot, column = item.partition(".")
        if not (table and dot and column):
            raise typer.BadParameter(f"{item!r} is not table.column", param_hint="--ignore")
        left_out.setdefault(table, []).append(column)
    return left_out


def add_hashes(app: typer.Typer, *, schema: str, help: str) -> None:
    """`hashes [--ignore table.column ...]` on the service's database (`CIVICLOOP_PG_DSN`)."""

    @app.command("hashes", help=help)
    def hashes_cmd(ignore: list[str] = IGNORED) -> None:
        left_out = parse_ignored(ignore)
        hashed = asyncio.run(state_hash(ServiceSettings().pg_dsn, schema, ignore=left_out))
        for line in hash_lines(hashed):
            typer.echo(line)
