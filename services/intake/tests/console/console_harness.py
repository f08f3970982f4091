"""The console on the real broker and database: the harness's intake (which folds the views), public-projections'
real app on a loopback port (the agent view the console reads), one key pair for the staff tokens intake signs and
both verify, and an agent account with a password and TOTP, seeded as the operator's CLI seeds one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pyotp
from asgi_lifespan import LifespanManager
from civicloop_events import decode_event
from civicloop_events.payloads import NotificationChannel
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.service_layer.staff_seed import seed_staff
from civicloop_intake.settings import Environment, IntakeSettings, staff_token_keys
from civicloop_notifier.database import migrate as migrate_notifier
from civicloop_notifier.entrypoints.http import create_app as create_notifier
from civicloop_notifier.settings import NotifierSettings
from civicloop_projections.entrypoints.http import MIGRATIONS as PROJECTION_MIGRATIONS
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_projections.settings import SCHEMA as PROJECTION_SCHEMA
from civicloop_projections.settings import ProjectionSettings
from civicloop_runtime import migrations
from civicloop_staff.roles import Role
from civicloop_staff.tokens import StaffTokenIssuer, StaffTokenVerifier
from civicloop_testing.run_settings import run_settings
from civicloop_testing.threaded_server import serve_in_thread
from fastapi import FastAPI
from intake_harness import Harness

PASSWORD = "a long staff password for the console"


def notifier_settings(intake: Harness) -> NotifierSettings:
    """The notifier on the harness's database and topics, e-mail through `CIVICLOOP_EMAIL_*` (the `inbox`)."""
    return run_settings(
        NotifierSettings,
        intake.settings.pg_dsn,
        intake.settings.kafka_bootstrap,
        intake.topics,
        # A group of this test's own: one shared with other runs' notifiers would rebalance with theirs.
        requests_consumer_name=f"notifier.requests.v1.{uuid4().hex[:8]}",
        tracking_url="https://civicloop.example/track/{number}",
        notifier_providers={NotificationChannel.email: "smtp"},
    )


@dataclass
class Agent:
    staff_id: UUID
    email: str
    totp: pyotp.TOTP


@dataclass
class ConsoleWorld:
    app: FastAPI  # the console's intake, its lifespan running in the test's loop
    settings: IntakeSettings
    agent: Agent
    keys: tuple[StaffTokenIssuer, StaffTokenVerifier]

    @contextmanager
    def served(self, *, port: int | None = None, **settings: Any) -> Iterator[str]:
        """Another replica of the console's intake (same database, same keys) on a loopback port, for a browser;
        `settings` over the world's (with `port`, for settings that name the replica's own address)."""
        issuer, verifier = self.keys
        app = create_app(
            self.settings.model_copy(update=settings),
            staff_verifier=verifier,
            token_issuer=issuer,
            start_consumers=False,
        )
        with serve_in_thread(app, lifespan="on", port=port) as base:
            yield base

    async def events_of(self, harness: Harness, number: str) -> list[Any]:
        return [e for e in (decode_event(r.value) for r in await harness.records()) if e.request_id == number]


@asynccontextmanager
async def console_world(
    intake: Harness,
    *,
    roles: tuple[Role, ...] = (Role.agent,),
    notifier: NotifierSettings | None = None,
    totp_enrolled: bool = True,
    jurisdiction_id: str = "demo",
    **settings_update: Any,
) -> AsyncIterator[ConsoleWorld]:
    """`notifier`: the notifier's real app on a loopback port too, for the console's preview; `totp_enrolled`
    False: an agent with a password only, who sets up the authenticator app at the first sign-in;
    `jurisdiction_id`: the agent's (one of the test's own keeps what it defines, e.g. an SLA, from other tests);
    `settings_update`: the console's intake settings changed so (e.g. `agent_work_file`)."""
    issuer, verifier = staff_token_keys(intake.settings)
    projection_settings = ProjectionSettings(
        env=Environment.test,
        pg_dsn=intake.settings.pg_dsn,
        kafka_bootstrap=intake.settings.kafka_bootstrap,
        topic_prefix=intake.topics.prefix,
        topic_partitions=intake.topics.partitions,
        read_your_writes_timeout_s=30,
    )
    migrations.upgrade(projection_settings.sqlalchemy_url, PROJECTION_MIGRATIONS, PROJECTION_SCHEMA)
    projections = create_projections(projection_settings, staff_verifier=verifier)
    with ExitStack() as stack:
        projections_url = stack.enter_context(serve_in_thread(projections, lifespan="on"))
        urls = {"console_projections_url": projections_url}
        if notifier is not None:
            migrate_notifier(notifier.sqlalchemy_url)
            notifier_app = create_notifier(notifier, staff_verifier=verifier)
            urls["console_notifier_url"] = stack.enter_context(serve_in_thread(notifier_app, lifespan="on"))
        settings = intake.settings.model_copy(update={**urls, **settings_update})
        app = create_app(settings, staff_verifier=verifier, token_issuer=issuer, start_consumers=False)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            service = app.state.service
            totp = pyotp.TOTP(pyotp.random_base32())
            email = f"agent-{uuid4().hex[:10]}@console.example"
            staff_id = await seed_staff(
                service.staff.admin,
                email=email,
                roles=list(roles),
                jurisdiction_id=jurisdiction_id,
                password=PASSWORD,
                totp_secret=totp.secret if totp_enrolled else None,
                now=datetime.now(UTC),
            )
            yield ConsoleWorld(app, settings, Agent(staff_id, email, totp), (issuer, verifier))


@asynccontextmanager
async def browser_client(world: ConsoleWorld) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the console as a browser reaches it (cookies kept, redirections not followed)."""
    transport = httpx.ASGITransport(app=world.app, client=("198.51.100.50", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=60) as client:
        yield client


def hidden(html: str, name: str, form_action: str | None = None) -> str:
    """The value of hidden field `name` (in the form posting to `form_action`, when given)."""
    if form_action is not None:
        start = html.index(f'action="{form_action}')
        html = html[start : html.index("</form>", start)]
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, world: ConsoleWorld) -> None:
    """The world's agent signs in on `client` (a `browser_client`), password and TOTP: the session's cookie kept."""
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
    assert answer.headers["location"].startswith("/console/")
