"""`civicloop-events`: the contract's JSON Schemas, and the auditors' replay of a request's history from the log."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import typer

from civicloop_events import schemas
from civicloop_events.history import REQUEST_INDEX_CONSUMER, IndexSource, request_history
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


async def _replay(
    bootstrap: str,
    topic: str,
    request_id: str,
    *,
    index_dsn: str | None,
    index_schema: str,
    index_consumer: str,
) -> tuple[list[dict[str, Any]], str]:
    return await request_history(
        bootstrap,
        topic,
        request_id,
        index=IndexSource(index_dsn, index_schema, index_consumer) if index_dsn else None,
    )


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
