"""`civicloop-intake staff ...`: the operator manages staff accounts from the host, each change an event whose actor
is the CLI naming the operator (`--operator`, default the host login). Changes to an existing account need the
account folded, i.e. a running intake (its staff consumer)."""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import typer
from civicloop_events.payloads.staff import DisableReason
from civicloop_runtime.process import configured
from civicloop_staff.roles import Role
from civicloop_staff.totp import new_totp_secret

from civicloop_intake.bootstrap import StaffServices, bootstrap
from civicloop_intake.service_layer.sla_seed import seed_demo_sla
from civicloop_intake.service_layer.staff_seed import (
    DEMO_AGENT_EMAIL,
    DEMO_AGENT_PASSWORD,
    DEMO_TOTP_SECRET,
    demo_sign_in_instructions,
    new_demo_password,
    seed_demo_agent,
    seed_staff,
)
from civicloop_intake.settings import IntakeSettings

staff_app = typer.Typer(no_args_is_help=True, help="Staff accounts and teams (each change an event).")
T = TypeVar("T")

ROLES = typer.Option(..., "--role", help="repeat for several")
TEAMS = typer.Option([], "--team", help="repeat for several")
REASON = typer.Option(..., help="left, suspended, compromised or other")
OPERATOR = typer.Option(
    "", help="who runs this (recorded as the actor `staff-cli:<operator>`); default: your login"
)


@asynccontextmanager
async def _staff(operator: str) -> AsyncIterator[StaffServices]:
    intake = await bootstrap(configured("civicloop-intake", IntakeSettings), start_consumers=False)
    try:
        if intake.staff is None:
            raise RuntimeError("unreachable: bootstrap opened the database")
        who = operator or getpass.getuser()
        admin = dataclasses.replace(intake.staff.admin, operator=who)
        sla = dataclasses.replace(intake.staff.sla, operator=who) if intake.staff.sla else None
        yield dataclasses.replace(intake.staff, admin=admin, sla=sla)
        await intake.staff.reset.drain()
    finally:
        await intake.close()


def run_with_staff(operator: str, action: Callable[[StaffServices], Awaitable[T]]) -> T:
    """`action` on intake's staff services, as the operator, in a fresh event loop (one CLI command)."""

    async def run() -> T:
        async with _staff(operator) as staff:
            return await action(staff)

    return asyncio.run(run())


def _now() -> datetime:
    return datetime.now(UTC)


@staff_app.command("team")
def define_team(
    team_id: str,
    name: str,
    jurisdiction: str = typer.Option(..., help="the jurisdiction's id"),
    inactive: bool = typer.Option(False, help="retire the team"),
    operator: str = OPERATOR,
) -> None:
    """Create or rename a team (`jurisdiction.team.defined`)."""
    run_with_staff(
        operator,
        lambda s: s.admin.define_team(
            team_id, name, jurisdiction_id=jurisdiction, by=None, active=not inactive
        ),
    )


@staff_app.command("create")
def create(
    email: str,
    role: list[Role] = ROLES,
    jurisdiction: str = typer.Option(..., help="the jurisdiction's id"),
    team: list[str] = TEAMS,
    name: str = typer.Option("", help="display name (sealed on the log)"),
    password_stdin: bool = typer.Option(
        False, help="read a first password from standard input; otherwise a link to set one is emailed"
    ),
    operator: str = OPERATOR,
) -> None:
    """Create an account and print its staff id."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    async def action(s: StaffServices) -> UUID:
        staff_id = await seed_staff(
            s.admin,
            email=email,
            name=name or None,
            roles=role,
            teams=team,
            jurisdiction_id=jurisdiction,
            password=password,
            now=_now(),
        )
        if password is None:
            await s.reset.invite(staff_id, email, now=_now())
        return staff_id

    typer.echo(str(run_with_staff(operator, action)))


@staff_app.command("roles")
def roles(staff_id: UUID, role: list[Role] = ROLES, operator: str = OPERATOR) -> None:
    """Set an account's roles (the whole set)."""
    changed = run_with_staff(operator, lambda s: s.admin.change_roles(staff_id, role, by=None))
    typer.echo("changed" if changed else "unchanged")


@staff_app.command("teams")
def teams(staff_id: UUID, team: list[str] = TEAMS, operator: str = OPERATOR) -> None:
    """Set an account's teams (the whole set; none: in no team)."""
    changed = run_with_staff(operator, lambda s: s.admin.change_teams(staff_id, team, by=None))
    typer.echo("changed" if changed else "unchanged")


@staff_app.command("disable")
def disable(staff_id: UUID, reason: DisableReason = REASON, operator: str = OPERATOR) -> None:
    """Stop an account signing in (its last token lapses within 15 minutes)."""
    changed = run_with_staff(operator, lambda s: s.admin.disable(staff_id, reason, by=None))
    typer.echo("changed" if changed else "unchanged")


@staff_app.command("enable")
def enable(staff_id: UUID, operator: str = OPERATOR) -> None:
    changed = run_with_staff(operator, lambda s: s.admin.enable(staff_id, by=None))
    typer.echo("changed" if changed else "unchanged")


DEMO_SECRETS_DIR = typer.Option(
    None,
    help="keep a password and TOTP secret generated once for this directory there (`make run`: its run "
    "directory's secrets/); without it the demo's fixed ones",
)


def _kept_secret(directory: Path, name: str, new: Callable[[], str]) -> str:
    """The secret in `directory/name`, made by `new` and written there (owner-only) the first time."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    if not path.exists() or not path.read_text().strip():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(new() + "\n")
    return path.read_text().strip()


@staff_app.command("seed-demo")
def seed_demo(
    jurisdiction: str = typer.Option("demo"),
    base_url: str = typer.Option("http://127.0.0.1:8001", help="intake's address, for the printed curl"),
    secrets_dir: Path | None = DEMO_SECRETS_DIR,
    operator: str = OPERATOR,
) -> None:
    """Create the demo agent (never in production) and print how to sign in as it."""
    password, totp_secret = DEMO_AGENT_PASSWORD, DEMO_TOTP_SECRET
    if secrets_dir is not None:
        password = _kept_secret(secrets_dir, "demo-agent-password", new_demo_password)
        totp_secret = _kept_secret(secrets_dir, "demo-agent-totp-secret", new_totp_secret)

    async def seed(s: StaffServices) -> tuple[UUID | None, bool]:
        agent = await seed_demo_agent(
            s.admin, jurisdiction_id=jurisdiction, now=_now(), password=password, totp_secret=totp_secret
        )
        sla = await seed_demo_sla(s.sla, jurisdiction_id=jurisdiction) if s.sla is not None else False
        return agent, sla

    created, sla_defined = run_with_staff(operator, seed)
    # Which directory's secrets the account has: the one that created it leaves a mark beside them.
    mark = secrets_dir / "demo-agent-created" if secrets_dir is not None else None
    if created is not None and mark is not None:
        mark.write_text(f"{created}\n")
    elif created is None and (mark is None or not mark.exists()):
        typer.echo(
            f"The demo agent {DEMO_AGENT_EMAIL} exists already, made by another run (another checkout on this "
            "database?): nothing created. It signs in with the password and TOTP secret it was made with, which "
            "may not be these:"
        )
    typer.echo(demo_sign_in_instructions(base_url, password=password, totp_secret=totp_secret))
    sla_state = "defined now" if sla_defined else "kept as it was"
    typer.echo(
        f"The SLA of {jurisdiction} ({sla_state}): uv run civicloop-intake sla show --jurisdiction {jurisdiction}"
    )
