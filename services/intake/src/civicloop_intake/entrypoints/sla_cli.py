"""`civicloop-intake sla ...`: the operator defines a jurisdiction's SLA from the host (`jurisdiction.sla.defined`,
its actor the CLI naming the operator) and shows the one in force (as a running intake folded it)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from civicloop_events.payloads.service_levels import SlaDefined
from pydantic import ValidationError

from civicloop_intake.bootstrap import StaffServices
from civicloop_intake.domain.sla_definitions import SlaDefinitionRejected
from civicloop_intake.entrypoints.staff_cli import OPERATOR, run_with_staff
from civicloop_intake.service_layer.sla_definitions import SlaAdmin

sla_app = typer.Typer(no_args_is_help=True, help="The jurisdiction's SLA definition (each change an event).")
JURISDICTION = typer.Option(..., help="the jurisdiction's id")
FILE = typer.Option(..., "--file", exists=True, dir_okay=False, help="the definition, JSON")


def _sla(staff: StaffServices) -> SlaAdmin:
    if staff.sla is None:
        raise RuntimeError("unreachable: bootstrap opened the database")
    return staff.sla


@sla_app.command("define")
def define(
    file: Path = FILE,
    jurisdiction: str = JURISDICTION,
    operator: str = OPERATOR,
) -> None:
    """Replace the jurisdiction's SLA definition with the file's; prints the event id, or `unchanged`."""
    try:
        definition = SlaDefined.model_validate_json(file.read_text())
    except ValidationError as exc:
        typer.echo(f"{file}: not a valid SLA definition:\n{exc}", err=True)
        raise typer.Exit(2) from None
    try:
        event = run_with_staff(
            operator, lambda s: _sla(s).define(definition, jurisdiction_id=jurisdiction, by=None)
        )
    except SlaDefinitionRejected as exc:
        typer.echo(f"refused ({exc.problem.value}): {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(str(event.event_id) if event is not None else "unchanged")


@sla_app.command("show")
def show(jurisdiction: str = JURISDICTION) -> None:
    """Print the definition in force as JSON (with who defined it and when); exit 1 when there is none."""
    defined = run_with_staff("", lambda s: _sla(s).current(jurisdiction))
    if defined is None:
        typer.echo(f"no SLA defined for {jurisdiction}", err=True)
        raise typer.Exit(1)
    typer.echo(
        json.dumps(
            {
                "jurisdiction_id": defined.jurisdiction_id,
                "event_id": str(defined.event_id),
                "defined_by": f"{defined.actor.kind.value}:{defined.actor.id}",
                "defined_at": defined.defined_at.isoformat(),
                "definition": defined.definition.model_dump(mode="json"),
            },
            indent=2,
        )
    )
