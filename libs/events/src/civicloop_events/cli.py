"""`civicloop-events`: the contract's JSON Schemas, and the auditors' replay of a request's history from the log."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import psycopg
import typer

from civicloop_events import schemas
from civicloop_events.history import indexed_history, scanned_history
from civicloop_events.request_index import indexed_positions
from civicloop_events.topics import Topics

app = typer.Typer(help="CivicLoop event contract tools.", no_args_is_help=True, add_completion=False)


@app.command("schemas")
def schemas_cmd(
    write: bool = typer.Option(False, "--write", help="regenerate the checked-in schema files"),
) -> None:
    """Check (default) or regenerate the JSON Schemas in libs/events/schemas/."""
    if write:
        for path in schemas.write():
            typer.echo(f"wrote {path}")
        return
    stale = schemas.drift()
    if stale:
        typer.echo("schemas out of date: " + ", ".join(stale) + " (run `make schemas`)", err=True)
        raise typer.Exit(1)
    typer.echo("schemas up to date")


REQUEST_INDEX_CONSUMER = "projections.request-index.v1"


async def _replay(
    bootstrap: str,
    topic: str,
    request_id: str,
    *,
    index_dsn: str | None,
    index_schema: str,
    index_consumer: str,
) -> tuple[list[dict[str, Any]], str]:
    """The request's history, through the request index when `index_dsn` reaches it, else from the whole topic;
    and how it was read (said on stderr, so a slow whole scan is never a surprise)."""
    if not index_dsn:
        how = "no request index given (--index-dsn): reading the whole topic"
        return await scanned_history(bootstrap, topic, request_id), how
    try:
        async with await psycopg.AsyncConnection.connect(index_dsn, autocommit=True) as conn:
            positions = await indexed_positions(
                conn, schema=index_schema, consumer=index_consumer, topic=topic, request_id=request_id
            )
    except psycopg.errors.UndefinedTable:
        how = f"no request index in schema {index_schema!r}: reading the whole topic"
        return await scanned_history(bootstrap, topic, request_id), how
    except psycopg.OperationalError as exc:
        how = f"request index unreachable ({type(exc).__name__}): reading the whole topic"
        return await scanned_history(bootstrap, topic, request_id), how
    history = await indexed_history(bootstrap, topic, request_id, positions)
    return history, "read through the request index"


@app.command()
def replay(
    request_id: str = typer.Argument(..., help="the request number"),
    bootstrap: str = typer.Option("127.0.0.1:21092", envvar="CIVICLOOP_KAFKA_BOOTSTRAP"),
    index_dsn: str | None = typer.Option(
        None,
        envvar="CIVICLOOP_REQUEST_INDEX_DSN",
        help="PostgreSQL holding the request index (the projections' database); without it the whole topic is read",
    ),
    index_schema: str = typer.Option("projections", help="the schema of the request index"),
    index_consumer: str = typer.Option(
        REQUEST_INDEX_CONSUMER, help="the consumer group that folds the index"
    ),
) -> None:
    """Print a request's complete, timestamped history from the log (JSON lines, upcast to current versions)."""
    topic = Topics(prefix=os.environ.get("CIVICLOOP_TOPIC_PREFIX", "")).request_events
    history, how = asyncio.run(
        _replay(
            bootstrap,
            topic,
            request_id,
            index_dsn=index_dsn,
            index_schema=index_schema,
            index_consumer=index_consumer,
        )
    )
    typer.echo(how, err=True)
    for entry in history:
        typer.echo(json.dumps(entry, sort_keys=True))
