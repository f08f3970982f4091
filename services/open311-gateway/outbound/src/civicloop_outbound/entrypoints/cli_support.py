"""The options of the outbound status commands (`status` and `open311 status`). How a command fails and the one
connection it reads the database through are every service's: `civicloop_runtime.cli.fail` and `command_pool`."""

from __future__ import annotations

import typer

ONLY_JURISDICTION = typer.Option(None, "--jurisdiction", "-j", help="only this jurisdiction")
AS_JSON = typer.Option(False, "--json", help="JSON instead of a table")
