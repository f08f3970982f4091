"""The admin pages' world: the console's (`console_harness.console_world`, an account seeded with password and TOTP)
with that account an admin, and intake's staff mail pointed at a local SMTP inbox (the invitation mail)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from civicloop_staff.roles import Role
from civicloop_testing.events import read_all_events
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from console_harness import PASSWORD, ConsoleWorld, console_world, hidden
from intake_harness import Harness


@asynccontextmanager
async def admin_world(
    intake: Harness, *, roles: tuple[Role, ...] = (Role.admin,), **settings: Any
) -> AsyncIterator[tuple[ConsoleWorld, SmtpInbox]]:
    """`settings`: intake's settings changed for this world (e.g. `admin_selfheal_url`)."""
    with smtp_inbox() as smtp:
        update = {"staff_smtp_port": smtp.port, **settings}
        mailed = dataclasses.replace(intake, settings=intake.settings.model_copy(update=update))
        async with console_world(mailed, roles=roles) as world:
            yield world, smtp


async def sign_in(client: httpx.AsyncClient, world: ConsoleWorld) -> str:
    """Signs in by password and TOTP; where the console sends the staff member first."""
    form = await client.get("/console/sign-in")
    answer = await client.post(
        "/console/sign-in",
        data={
            "form_token": hidden(form.text, "form_token"),
            "email": world.agent.email,
            "password": PASSWORD,
            "code": world.agent.totp.now(),
        },
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def config_events(intake: Harness) -> list[Any]:
    """Every event on this test's `jurisdiction.config`."""
    return await read_all_events(intake.settings.kafka_bootstrap, intake.topics.jurisdiction_config, 1)
