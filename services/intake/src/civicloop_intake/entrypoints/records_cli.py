"""`civicloop-intake records export <number>`: a public-records export from the host, as the auditors' endpoint gives
it (recorded on the log as `request.records.exported`, its actor the CLI naming the operator)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path

import typer
from civicloop_events import Actor, ActorKind
from civicloop_events.payloads.records import ExportFormat
from civicloop_runtime.process import configured

from civicloop_intake.adapters.records_documents import to_html, to_json, to_pdf
from civicloop_intake.bootstrap import bootstrap
from civicloop_intake.entrypoints.records_routes import history_reader
from civicloop_intake.service_layer.records import UnknownRequest, export_records
from civicloop_intake.settings import IntakeSettings

records_app = typer.Typer(
    no_args_is_help=True, help="Public-records exports (MPIA / FOIA), each one an event."
)
FORMAT = typer.Option(ExportFormat.json, "--format", help="json, html or pdf")
OUT = typer.Option(None, "--out", help="write here (default: standard output)")


@records_app.command("export")
def export(
    number: str = typer.Argument(..., help="the request number"),
    export_format: ExportFormat = FORMAT,
    out: Path | None = OUT,
    unsealed: bool = typer.Option(False, help="show personal data (only when a records request allows it)"),
    reason: str | None = typer.Option(None, help="the records request's reference, never personal data"),
    operator: str = typer.Option(
        "", help="who runs this (recorded as `records-cli:<operator>`); default: login"
    ),
) -> None:
    """Export a request's complete history from the log, redacted unless --unsealed."""

    async def run() -> bytes:
        intake = await bootstrap(configured("civicloop-intake", IntakeSettings), start_consumers=False)
        try:
            document = await export_records(
                number,
                read_history=history_reader(intake),
                vault=intake.vault,
                event_log=intake.event_log,
                actor=Actor(kind=ActorKind.system, id=f"records-cli:{operator or getpass.getuser()}"[:120]),
                export_format=export_format,
                unseal=unsealed,
                source="records-cli",
                reason=reason,
            )
        finally:
            await intake.close()
        if export_format is ExportFormat.html:
            return to_html(document).encode()
        return to_pdf(document) if export_format is ExportFormat.pdf else to_json(document)

    try:
        data = asyncio.run(run())
    except UnknownRequest:
        typer.echo(f"no request {number} on the log", err=True)
        raise typer.Exit(1) from None
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        typer.echo(f"wrote {out}", err=True)
