"""The whole system as browsers reach it, on loopback ports: intake (the residents' pages and the agent console, its
consumers folding its views), public-projections (the agent view the console reads) and the notifier (its real
senders, built from the environment as `make run` builds them), each under uvicorn in a thread of its own, on the
test's database and topics; an agent account with a password and TOTP, seeded as the operator's CLI seeds one.

Named uniquely so that it never collides with another directory's helpers when the whole repository's tests run.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from asgi_lifespan import LifespanManager
from civicloop_events.payloads import NotificationChannel
from civicloop_events.topics import Topics
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_intake.service_layer.staff_seed import seed_staff
from civicloop_intake.settings import IntakeSettings, staff_token_keys
from civicloop_notifier.entrypoints.http import create_app as create_notifier
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_staff.roles import Role
from civicloop_testing.threaded_server import serve_in_thread
from e2e_world import migrated_intake, migrated_notifier, migrated_projections

AGENT_PASSWORD = "a long staff password for the console"


@dataclass(frozen=True)
class Agent:
    email: str
    password: str
    totp: pyotp.TOTP


@dataclass(frozen=True)
class Served:
    """The base URL residents and agents reach intake at, and the agent who signs in to its console."""

    intake_url: str
    agent: Agent


async def seeded_agent(settings: IntakeSettings, *, jurisdiction_id: str = "demo") -> Agent:
    """An agent with a password and TOTP enrolled, made through an intake of its own (no consumers) as the
    operator's `staff seed` makes one; its account is on the log and in intake's staff store for any replica."""
    totp = pyotp.TOTP(pyotp.random_base32())
    email = f"agent-{uuid.uuid4().hex[:10]}@console.example"
    app = create_intake(settings, start_consumers=False)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await seed_staff(
            app.state.service.staff.admin,
            email=email,
            roles=[Role.agent],
            jurisdiction_id=jurisdiction_id,
            password=AGENT_PASSWORD,
            totp_secret=totp.secret,
            now=datetime.now(UTC),
        )
    return Agent(email, AGENT_PASSWORD, totp)


@asynccontextmanager
async def served_loop(
    dsn: str,
    topics: Topics,
    kafka_bootstrap: str,
    *,
    providers: Mapping[NotificationChannel, str],
) -> AsyncIterator[Served]:
    """public-projections, intake with its consumers and the console, and the notifier, each on a loopback port;
    the notifier's messages link to intake's track page. The notifier's senders (`CIVICLOOP_SMS_*`,
    `CIVICLOOP_EMAIL_*`) and intake's code senders (`CIVICLOOP_SMS_*`, `CIVICLOOP_STAFF_SMTP_*`) are built from the
    environment: set it before entering."""
    intake_settings = migrated_intake(dsn, topics, kafka_bootstrap)
    issuer, verifier = staff_token_keys(intake_settings)
    agent = await seeded_agent(intake_settings)
    projections = create_projections(
        migrated_projections(dsn, topics, kafka_bootstrap), staff_verifier=verifier
    )
    with ExitStack() as stack:
        projections_url = stack.enter_context(serve_in_thread(projections, lifespan="on"))
        console_settings = intake_settings.model_copy(update={"console_projections_url": projections_url})
        intake = create_intake(console_settings, staff_verifier=verifier, token_issuer=issuer)
        intake_url = stack.enter_context(serve_in_thread(intake, lifespan="on"))
        notifier = create_notifier(
            migrated_notifier(
                dsn,
                topics,
                kafka_bootstrap,
                providers=providers,
                tracking_url=f"{intake_url}/track?number={{number}}",
            ),
            staff_verifier=verifier,
        )
        stack.enter_context(serve_in_thread(notifier, lifespan="on"))
        yield Served(intake_url, agent)
