"""Outbound integration tests' world: the real outbound worker app (sending started by its bootstrap) on the real broker and
PostGIS, a real SMTP server (aiosmtpd) and real webhook receivers (an ASGI app under uvicorn), all on 127.0.0.1.

Each test configures a jurisdiction of its own (bodies and rules as events on `jurisdiction.config`) and submits
requests as intake does, as `ServiceRequestSubmitted` events on `requests.events`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from civicloop_events import (
    Actor,
    ActorKind,
    Event,
    Location,
    ServiceDefined,
    ServiceRequestSubmitted,
)
from civicloop_events.consumer import wait_until_applied
from civicloop_events.payloads import BodyDefined, Open311Connection, SendMethod
from civicloop_events.payloads.base import EventPayload
from civicloop_events.producer import EventProducer, Position
from civicloop_events.request_numbers import new_request_number
from civicloop_events.topics import Topics
from civicloop_outbound import database
from civicloop_outbound.entrypoints.http import create_app
from civicloop_outbound.settings import OutboundSettings
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.asgi import serving
from civicloop_testing.events import config_event, read_all_events, request_event
from civicloop_testing.lifecycle import started
from civicloop_testing.polling import eventually
from civicloop_testing.processes import free_port
from civicloop_testing.run_settings import cli_env, run_settings
from civicloop_testing.smtp import Received, SmtpInbox
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from psycopg_pool import AsyncConnectionPool

WEBHOOK_SECRET = "webhook-signing-secret-for-tests"
WEBHOOK_SECRET_REF = "tests.webhook"
RESIDENT = Actor(kind=ActorKind.resident, id=None)
ADMIN_ID = "outbound-tests"


# -- SMTP ----------------------------------------------------------------------------------------------------------
class SmtpServer(SmtpInbox):
    """The county's mail relay: every message it accepts, as parsed, found by the request it is about."""

    def for_request(self, request_id: str) -> list[Received]:
        return self.with_header("X-CivicLoop-Request", request_id)


# -- webhook receiver ------------------------------------------------------------------------------------------------
@dataclass
class WebhookReceiver:
    """A body's webhook endpoint under uvicorn: verifies signatures, answers `status` (200 by default)."""

    secret: str = WEBHOOK_SECRET
    status: int = 200
    delay_s: float = 0.0  # how long it takes to answer
    port: int = field(default_factory=free_port)
    delivered: list[dict[str, Any]] = field(
        default_factory=list
    )  # accepted (2xx) documents, in arrival order
    refused: int = 0
    bad_signatures: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/civicloop"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("x-civicloop-signature", ""), expected):
            self.bad_signatures += 1
            status, answer = 401, {"error": "bad signature"}
        elif self.status >= 300:
            self.refused += 1
            status, answer = self.status, {"error": "unavailable"}
        else:
            doc = json.loads(raw)
            doc["_headers"] = headers
            self.delivered.append(doc)
            status, answer = self.status, {"external_id": f"WO-{len(self.delivered)}"}
        body = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await eventually(self._started, timeout=10, what="webhook receiver listening")

    async def _started(self) -> bool:
        assert self._task is not None
        if self._task.done():
            self._task.result()
        return bool(self._server and self._server.started)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    def requests_delivered(self) -> list[str]:
        return [d["request"]["request_id"] for d in self.delivered]


# -- the gateway with outbound -----------------------------------------------------------------------------------------
@dataclass
class OutboundWorld:
    app: Any
    client: httpx.AsyncClient
    settings: OutboundSettings
    topics: Topics
    pool: AsyncConnectionPool
    smtp: SmtpServer
    config_producer: EventProducer
    request_producer: EventProducer

    async def configure(self, jurisdiction: str, *payloads: EventPayload) -> Position:
        position = None
        for payload in payloads:
            position = await self.config_producer.publish(
                config_event(payload, jurisdiction_id=jurisdiction, admin=ADMIN_ID)
            )
        assert position is not None
        for consumer in (self.settings.outbound_config_consumer_group,):
            applied = await wait_until_applied(
                self.pool,
                schema="outbound",
                consumer=consumer,
                topic=position.topic,
                partition=position.partition,
                offset=position.offset,
                timeout_s=45,
            )
            assert applied, f"{consumer} did not apply the configuration"
        return position

    async def new_city(self, name: str, *payloads: EventPayload) -> str:
        """A jurisdiction of the test's own, configured with `payloads` (folded before this returns)."""
        city = unique_jurisdiction(name)
        await self.configure(city, *payloads)
        return city

    async def submit(
        self,
        jurisdiction: str,
        service_code: str,
        *,
        description: str = "",
        attributes: dict[str, list[str]] | None = None,
        lat: float | None = 39.7817,
        long: float | None = -89.6501,
        source: str = "web",
    ) -> str:
        payload = ServiceRequestSubmitted(
            service_code=service_code,
            description=description or f"report {uuid.uuid4().hex[:8]}",
            location=Location(lat=lat, long=long, address_string="1 Main St" if lat is not None else None),
            attributes=attributes or {},
            media_urls=["https://img.example/p/1.jpg"],
        )
        submitted = await self.publish_request(jurisdiction, payload, source=source)
        assert submitted.request_id is not None
        return submitted.request_id

    async def publish_request(
        self,
        jurisdiction: str,
        payload: EventPayload,
        *,
        request_id: str | None = None,
        source: str = "web",
    ) -> Event[Any]:
        """`payload` on `requests.events` as a resident's, on a new request unless `request_id` is given."""
        event = request_event(
            payload,
            request_id=request_id or new_request_number(),
            actor=RESIDENT,
            source=source,
            jurisdiction_id=jurisdiction,
        )
        await self.request_producer.publish(event)
        return event

    async def wait_queued(self, jurisdiction: str, count: int = 1) -> None:
        """Until `count` items of `jurisdiction` are on the outbound queue."""

        async def queued() -> bool:
            return len(await self.queue_rows(jurisdiction)) == count

        await eventually(queued, what=f"{count} item(s) queued")

    async def events(self) -> list[Event[Any]]:
        return await read_all_events(
            self.settings.kafka_bootstrap, self.topics.request_events, self.topics.partitions
        )

    async def events_of(self, request_id: str, type_: str | None = None) -> list[Event[Any]]:
        return [
            e
            for e in await self.events()
            if e.request_id == request_id and (type_ is None or e.type == type_)
        ]

    async def queue_rows(self, jurisdiction: str) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select seq, request_id, body_id, method, purpose, state, attempts, external_id, last_error"
                " from outbound.outbound_queue where jurisdiction_id = %s order by seq",
                (jurisdiction,),
            )
            names = [c.name for c in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]

    async def status_api(self, jurisdiction: str) -> dict[str, dict[str, Any]]:
        r = await self.client.get(
            "admin/outbound/bodies.json",
            params={"jurisdiction_id": jurisdiction},
            headers=staff_headers(None, "admin", jurisdiction_id=jurisdiction),
        )
        assert r.status_code == 200, r.text
        return {b["body_id"]: b for b in r.json()}

    def cli_env(self) -> dict[str, str]:
        return cli_env(self.settings, PATH="/usr/bin:/bin")

    async def cli(self, *args: str) -> tuple[int, str]:
        """`civicloop-outbound ...` as a real process, on this world's database and topics."""
        return await outbound_cli(self.cli_env(), *args)


async def outbound_cli(env: dict[str, str], *args: str, timeout: float = 90) -> tuple[int, str]:
    """`civicloop-outbound ...` as a real process (asynchronously: an app under test may run in this event loop);
    its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_outbound.entrypoints.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    return proc.returncode or 0, out.decode()


def unique_jurisdiction(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}.example.gov"


def service(code: str, name: str) -> ServiceDefined:
    return ServiceDefined(service_code=code, service_name=name)


def by_open311(body_id: str, name: str, code: str, **more: Any) -> BodyDefined:
    """A body reached by Open311, for which the app has no sender (see `outbound_world`): its items wait on the
    queue for the test's own sender loops."""
    return BodyDefined(
        body_id=body_id,
        name=name,
        send_method=SendMethod.open311,
        service_codes=[code],
        open311=Open311Connection(endpoint="http://127.0.0.1:9/open311/v2"),
        **more,
    )


def roads_by_email(**overrides: Any) -> BodyDefined:
    """The Roads body, taking potholes by email: where most tests' reports go."""
    values: dict[str, Any] = {
        "body_id": "roads",
        "name": "Roads",
        "service_codes": ["POTHOLE"],
        "email": "roads@springfield.example.gov",
    }
    return BodyDefined.model_validate({**values, **overrides})


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def outbound_world(pg_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[OutboundWorld]:
    import os

    topics = await make_topics(kafka_bootstrap)
    dsn = create_database(pg_admin_dsn, prefix="cl_gateway_outbound")
    smtp = SmtpServer()
    smtp.start()
    os.environ["CIVICLOOP_SECRET_TESTS_WEBHOOK"] = WEBHOOK_SECRET
    try:
        settings = run_settings(
            OutboundSettings,
            dsn,
            kafka_bootstrap,
            topics,
            log_level="WARNING",
            public_base_url="https://311.springfield.example.gov",
            consumer_backoff_initial_s=0.01,
            consumer_backoff_max_s=0.05,
            # Open311 items are left to each test's own sender loops (see test_outbound_crash_window).
            outbound_methods={SendMethod.email, SendMethod.webhook},
            outbound_poll_interval_s=0.1,
            outbound_backoff_initial_s=0.2,
            outbound_backoff_max_s=0.8,
            outbound_max_attempts=50,
            outbound_send_timeout_s=5,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            mail_from="CivicLoop Springfield <311@springfield.example.gov>",
        )
        database.migrate(settings.sqlalchemy_url)
        app = create_app(settings, staff_verifier=verifier_for_tests())
        async with (
            started(
                EventProducer(kafka_bootstrap, topics.jurisdiction_config, client_id="outbound-tests")
            ) as config,
            started(
                EventProducer(kafka_bootstrap, topics.request_events, client_id="outbound-tests")
            ) as requests,
            serving(app, "http://outbound.test/open311/v2/") as client,
        ):
            yield OutboundWorld(app, client, settings, topics, app.state.service.pool, smtp, config, requests)
    finally:
        smtp.stop()
        os.environ.pop("CIVICLOOP_SECRET_TESTS_WEBHOOK", None)
        drop_database(pg_admin_dsn, dsn)
