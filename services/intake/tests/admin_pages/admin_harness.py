"""The admin pages' world: the console's (`console_harness.console_world`, an account seeded with password and TOTP)
with that account an admin, and intake's staff mail pointed at a local SMTP inbox (the invitation mail)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from civicloop_events.payloads import SendMethod, ServiceDefined
from civicloop_events.payloads.base import EventPayload
from civicloop_events.producer import EventProducer
from civicloop_gateway import database as gateway_database
from civicloop_gateway.entrypoints.http import create_app as create_gateway
from civicloop_gateway.settings import GatewaySettings
from civicloop_intake.entrypoints.http import create_app
from civicloop_outbound.database import migrate as migrate_outbound
from civicloop_outbound.entrypoints.http import create_app as create_outbound
from civicloop_outbound.settings import OutboundSettings
from civicloop_selfheal.database import migrate as migrate_selfheal
from civicloop_selfheal.entrypoints.http import create_app as create_selfheal
from civicloop_selfheal.settings import SelfhealSettings
from civicloop_staff.roles import Role
from civicloop_testing import create_database, drop_database
from civicloop_testing.events import config_event, read_all_events
from civicloop_testing.lifecycle import started
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.threaded_server import serve_in_thread
from console_harness import PASSWORD, ConsoleWorld, console_world, hidden
from fastapi import FastAPI, Response
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


@contextmanager
def outbound_served(
    world: ConsoleWorld, intake: Harness, methods: frozenset[SendMethod] = frozenset()
) -> Iterator[str]:
    """outbound's real app on a loopback port (the test's database and topics, the world's staff keys); it sends by
    `methods` only (none by default: the page reads the queues and pauses)."""
    outbound_settings = run_settings(
        OutboundSettings,
        intake.settings.pg_dsn,
        intake.settings.kafka_bootstrap,
        intake.topics,
        log_level="WARNING",
        outbound_methods=set(methods),
    )
    migrate_outbound(outbound_settings.sqlalchemy_url)
    with serve_in_thread(
        create_outbound(outbound_settings, staff_verifier=world.keys[1]), lifespan="on"
    ) as url:
        yield url


@asynccontextmanager
async def with_outbound(
    world: ConsoleWorld, intake: Harness, methods: frozenset[SendMethod] = frozenset()
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """outbound served (sending by `methods`), and a browser client on a replica of the world's intake pointed at it."""
    issuer, verifier = world.keys
    with outbound_served(world, intake, methods) as outbound_url:
        settings = world.settings.model_copy(update={"admin_outbound_url": outbound_url})
        app = create_app(settings, staff_verifier=verifier, token_issuer=issuer, start_consumers=False)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            transport = httpx.ASGITransport(app=app, client=("198.51.100.51", 40001))
            async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=60) as client:
                yield client, outbound_url


@contextmanager
def served_replica(world: ConsoleWorld, **settings: Any) -> Iterator[str]:
    """A replica of the world's intake on a loopback port (for a browser) with `settings` changed."""
    issuer, verifier = world.keys
    app = create_app(
        world.settings.model_copy(update=settings),
        staff_verifier=verifier,
        token_issuer=issuer,
        start_consumers=False,
    )
    with serve_in_thread(app, lifespan="on") as base:
        yield base


async def define_body(intake: Harness, payload: EventPayload) -> None:
    async with started(
        EventProducer(
            intake.settings.kafka_bootstrap, intake.topics.jurisdiction_config, client_id="admin-tests"
        )
    ) as producer:
        await producer.publish(config_event(payload, jurisdiction_id="demo"))


@contextmanager
def gateway_served(world: ConsoleWorld, intake: Harness, pg_admin_dsn: str) -> Iterator[str]:
    """The Open311 gateway's real app on a loopback port, on a database of its own (PostGIS) and the test's topics,
    with the world's staff keys."""
    dsn = create_database(pg_admin_dsn, prefix="cl_admin_pages_gateway")
    try:
        settings = run_settings(
            GatewaySettings, dsn, intake.settings.kafka_bootstrap, intake.topics, log_level="WARNING"
        )
        gateway_database.migrate(settings.sqlalchemy_url)
        with serve_in_thread(create_gateway(settings, staff_verifier=world.keys[1]), lifespan="on") as url:
            yield url
    finally:
        drop_database(pg_admin_dsn, dsn)


@asynccontextmanager
async def replica(world: ConsoleWorld, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A browser client on a replica of the world's intake with `settings` changed (another service's address)."""
    issuer, verifier = world.keys
    app = create_app(
        world.settings.model_copy(update=settings),
        staff_verifier=verifier,
        token_issuer=issuer,
        start_consumers=False,
    )
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app, client=("198.51.100.52", 40002))
        async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=60) as client:
            yield client


@dataclass
class BodyEndpoint:
    """A body's webhook endpoint on a loopback port: it answers `status` to every delivery and counts them."""

    status: int = 422  # refused for good: outbound gives the report up after one attempt
    calls: int = 0

    def app(self) -> FastAPI:
        endpoint = FastAPI()

        @endpoint.post("/hook")
        async def hook() -> Response:
            self.calls += 1
            return Response(status_code=self.status)

        return endpoint


@contextmanager
def selfheal_served(world: ConsoleWorld, intake: Harness, pg_admin_dsn: str) -> Iterator[tuple[str, str]]:
    """selfheal's real app on a loopback port, on a database of its own and the test's topics, with the world's
    staff keys and no schedule of its own (it runs when asked): its URL and its database."""
    dsn = create_database(pg_admin_dsn, prefix="cl_admin_pages_selfheal")
    try:
        settings = run_settings(
            SelfhealSettings, dsn, intake.settings.kafka_bootstrap, intake.topics, selfheal_every_s=0
        )
        migrate_selfheal(settings.sqlalchemy_url)
        with serve_in_thread(create_selfheal(settings, staff_verifier=world.keys[1]), lifespan="on") as url:
            yield url, dsn
    finally:
        drop_database(pg_admin_dsn, dsn)


async def reported(intake: Harness, service_code: str) -> str:
    """A report of a service of the test's own, defined on the test's `jurisdiction.config` (the admin pages' tests
    share a database, where an earlier test's body may still take the harness's `pothole`): its number, once intake
    has folded the service and takes the report."""
    await intake.publish(
        ServiceDefined(service_code=service_code, service_name="Deep hole"),
        request_id=None,
        topic=intake.topics.jurisdiction_config,
    )
    report = {
        "service_code": service_code,
        "description": "Deep hole by the school",
        "address_string": "3 Elm St",
    }

    async def taken() -> str | None:
        answer = await intake.client.post("/api/v1/requests", json=report)
        return str(answer.json()["request_number"]) if answer.status_code == 201 else None

    return await eventually(taken, timeout=30, what=f"intake takes reports of {service_code}")
