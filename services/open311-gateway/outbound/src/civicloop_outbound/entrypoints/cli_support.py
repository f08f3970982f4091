"""What the outbound commands share: how they fail, the one connection a command reads the database through, and
the options of the status commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import typer
from civicloop_runtime.db import open_pool
from psycopg_pool import AsyncConnectionPool
from rich.console import Console

# The status commands' options: `status` and `open311 status`.
ONLY_JURISDICTION = typer.Option(None, "--jurisdiction", "-j", help="only this jurisdiction")
AS_JSON = typer.Option(False, "--json", help="JSON instead of a table")


def fail(message: str) -> typer.Exit:
    """The error on stderr; raise what this returns to end the command with exit code 1."""
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=1)


@asynccontextmanager
async def command_pool(dsn: str, *, name: str) -> AsyncIterator[AsyncConnectionPool]:
    """A one-connection pool for the length of a command, closed when it ends."""
    pool = await open_pool(dsn, min_size=1, max_size=1, name=name)
    try:
        yield pool
    finally:
        await pool.close()
