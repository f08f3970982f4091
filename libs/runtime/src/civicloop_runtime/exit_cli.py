"""`civicloop-exit`: write everything the county owns to an archive, check one, load one into a fresh CivicLoop.

The broker and the database are the deployment's (`CIVICLOOP_KAFKA_BOOTSTRAP`, `CIVICLOOP_PG_DSN`,
`CIVICLOOP_TOPIC_PREFIX`, `CIVICLOOP_TOPIC_PARTITIONS`, as every service reads them). `civicloop_runtime.exit_archive`
says what an archive holds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from civicloop_events.topics import Topics

from civicloop_runtime.cli import fail
from civicloop_runtime.content_hash import read_model_hash_at
from civicloop_runtime.exit_archive import ArchiveError, export, load, verify

app = typer.Typer(
    name="civicloop-exit",
    help="The exit: the whole log, its schemas and every read model in an archive with checksums; and back.",
    no_args_is_help=True,
    add_completion=False,
)

BOOTSTRAP = typer.Option(
    "127.0.0.1:21092", envvar="CIVICLOOP_KAFKA_BOOTSTRAP", help="host:port of the broker"
)
DSN = typer.Option(
    "postgresql://postgres@127.0.0.1:21432/civicloop",
    envvar="CIVICLOOP_PG_DSN",
    help="the services' database",
)
ARCHIVE = typer.Argument(..., help="the archive's directory")
HASHED_SCHEMAS = typer.Option(..., "--schema", help="the schemas to hash")
IGNORED = typer.Option(None, "--ignore", help="table.column to leave out (a write time), repeatable")
SCHEMAS = typer.Option(
    None, "--schema", help="only these schemas (default: every service schema but the vault)"
)


@app.command("export")
def export_cmd(
    directory: Path = ARCHIVE,
    bootstrap: str = BOOTSTRAP,
    dsn: str = DSN,
    schema: list[str] = SCHEMAS,
) -> None:
    """Write the archive: the log as JSON lines, the contract's JSON Schemas, every read model as CSV (and GeoJSON),
    a manifest and SHA256SUMS."""
    try:
        done = asyncio.run(
            export(directory, bootstrap=bootstrap, topics=Topics.from_env(), dsn=dsn, schemas=schema)
        )
    except ArchiveError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{done.directory}: {done.records} records, {done.rows} rows, {done.files} files")


@app.command("verify")
def verify_cmd(directory: Path = ARCHIVE) -> None:
    """Check every file against SHA256SUMS, and that nothing is missing or added."""
    try:
        manifest = verify(directory)
    except ArchiveError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{directory}: intact ({len(manifest['files'])} files)")


@app.command("load")
def load_cmd(directory: Path = ARCHIVE, bootstrap: str = BOOTSTRAP) -> None:
    """Load the archive's log into this CivicLoop's empty topics; then run every service's `migrate` and `rebuild`."""
    try:
        loaded = asyncio.run(load(directory, bootstrap=bootstrap, topics=Topics.from_env()))
    except ArchiveError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"{loaded} records loaded; now migrate and rebuild every service, and compare the content hashes"
    )


@app.command("hashes")
def hashes_cmd(schema: list[str] = HASHED_SCHEMAS, dsn: str = DSN, ignore: list[str] = IGNORED) -> None:
    """Print the content hash of every table of each schema, and of each schema (`content-sha256` lines, as a
    rebuild prints them): to compare two deployments' read models, or one before and after a change."""
    left_out: dict[str, list[str]] = {}
    for item in ignore or []:
        table, _, column = item.partition(".")
        left_out.setdefault(table, []).append(column)

    async def main() -> None:
        for name in schema:
            tables = await _tables_of(dsn, name)
            hashed = await read_model_hash_at(dsn, name, tables, ignore=left_out)
            for table in sorted(hashed.tables):
                typer.echo(f"content-sha256 {name}.{table} {hashed.tables[table]}")
            typer.echo(f"content-sha256 {name} {hashed.combined}")

    asyncio.run(main())


async def _tables_of(dsn: str, schema: str) -> list[str]:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = %s and table_type = 'BASE TABLE' order by table_name",
            (schema,),
        )
        return [row[0] for row in await cur.fetchall()]


if __name__ == "__main__":
    app()
