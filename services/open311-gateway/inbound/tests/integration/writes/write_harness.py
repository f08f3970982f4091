"""A gateway for the write-side tests: the real app (lifespan, consumers, pool) on the real broker and PostGIS.

One gateway serves the session, on a database and topics of its own. Its configuration arrives as events on the
real broker, the way production's does: a catalogue (a realtime service with a question of every datatype, a
realtime one without questions, a batch and a blackbox service), partners with known keys (one of them revoked,
one authorised in another city only). Tests keep apart by their own request content (POSTs with the same body and
Idempotency-Key are one request, PR-11), never by resetting anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka.structs import ConsumerRecord
from civicloop_events import Event
from civicloop_events.consumer import wait_until_applied
from civicloop_events.payloads import (
    PartnerAuthorised,
    PartnerKeyRevoked,
)
from civicloop_events.payloads.base import EventPayload
from civicloop_events.topics import Topics
from civicloop_gateway import database
from civicloop_gateway.domain.partner_keys import IssuedKey, issue_key
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import GatewaySettings
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing import read_all_records as read_all
from civicloop_testing.asgi import serving
from civicloop_testing.events import config_event, publish_events, read_all_events
from civicloop_testing.open311_catalogue import SHELBYVILLE, SPRINGFIELD, catalogue
from civicloop_testing.run_settings import cli_env, run_settings
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from defusedxml import ElementTree
from psycopg_pool import AsyncConnectionPool

# The city of the partners (all but `foreign`), and the other city (`foreign`'s alone).
CITY, OTHER_CITY = SPRINGFIELD, SHELBYVILLE
# An admin of the city's jurisdiction: the admin API admits staff tokens only.
ADMIN_TOKEN = staff_headers(None, "admin", jurisdiction_id=CITY)["Authorization"].removeprefix("Bearer ")


@dataclass
class PartnerClient:
    client_id: str
    issued: IssuedKey

    @property
    def key(self) -> str:
        return self.issued.key


@dataclass
class WriteGateway:
    """The running app, an HTTP client on its Open311 base path, and what it was configured with."""

    app: Any
    client: httpx.AsyncClient
    settings: GatewaySettings
    topics: Topics
    pool: AsyncConnectionPool
    partner: PartnerClient  # authorised in CITY
    second: PartnerClient  # another client, authorised in CITY
    revoked: PartnerClient  # authorised in CITY, then revoked
    foreign: PartnerClient  # authorised in OTHER_CITY only

    async def post(self, path: str, fmt: str, data: Any, **kwargs: Any) -> httpx.Response:
        return await self.client.post(f"{path}.{fmt}", data=data, **kwargs)

    async def submit(
        self,
        fmt: str,
        partner: PartnerClient | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        body = {"api_key": (partner or self.partner).key, "jurisdiction_id": CITY, **fields}
        return await self.post(
            "requests", fmt, {k: v for k, v in body.items() if v is not None}, headers=headers
        )

    async def request_records(self) -> list[ConsumerRecord]:
        return await read_all(
            self.settings.kafka_bootstrap, self.topics.request_events, self.topics.partitions
        )

    async def config_records(self) -> list[ConsumerRecord]:
        return await read_all(self.settings.kafka_bootstrap, self.topics.jurisdiction_config, 1)

    async def events_of(self, request_id: str) -> list[Event[Any]]:
        events = await read_all_events(
            self.settings.kafka_bootstrap, self.topics.request_events, self.topics.partitions
        )
        return [e for e in events if e.request_id == request_id]

    async def row(self, query: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The first row `query` finds in the gateway's database."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchone()

    async def execute(self, statement: str, params: tuple[Any, ...]) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(statement, params)

    async def leave_pending(self, number: str) -> None:
        """The submission of request `number` as a publish that timed out leaves it: pending, not on the log."""
        await self.execute(
            "update gateway.submissions set state = 'pending', partition = null, kafka_offset = null,"
            " published_at = null where request_number = %s",
            (number,),
        )

    def cli_env(self) -> dict[str, str]:
        return cli_env(self.settings)


def as_form(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Pairs with repeated names as httpx wants them (a list per name); each repeat is sent as its own field."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


async def _configure(
    settings: GatewaySettings,
    pool: AsyncConnectionPool,
    partners: list[tuple[str, PartnerClient]],
    revoked: PartnerClient,
) -> None:
    payloads: list[tuple[str, EventPayload]] = [
        (
            j,
            PartnerAuthorised(
                client_id=p.client_id,
                name=p.client_id,
                key_id=p.issued.key_id,
                key_sha256=p.issued.key_sha256,
            ),
        )
        for j, p in partners
    ]
    payloads.append((CITY, PartnerKeyRevoked(client_id=revoked.client_id, key_id=revoked.issued.key_id)))
    payloads += catalogue()
    events = [config_event(payload, jurisdiction_id=j, admin="write-tests") for j, payload in payloads]
    *_, position = await publish_events(
        settings.kafka_bootstrap, settings.topics.jurisdiction_config, events, client_id="write-tests"
    )
    applied = await wait_until_applied(
        pool,
        schema="gateway",
        consumer=settings.config_consumer_group,
        topic=position.topic,
        partition=position.partition,
        offset=position.offset,
        timeout_s=45,
    )
    assert applied, "the gateway did not fold its configuration"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def write_gw(pg_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[WriteGateway]:
    topics = await make_topics(kafka_bootstrap)
    dsn = create_database(pg_admin_dsn, prefix="cl_gateway_writes")
    try:
        settings = run_settings(
            GatewaySettings,
            dsn,
            kafka_bootstrap,
            topics,
            read_your_writes_timeout_s=10.0,
            log_level="WARNING",
        )
        database.migrate(settings.sqlalchemy_url)
        partner = PartnerClient("cityapp", issue_key())
        second = PartnerClient("second-app", issue_key())
        revoked = PartnerClient("old-app", issue_key())
        foreign = PartnerClient("shelby-app", issue_key())
        app = create_app(settings, staff_verifier=verifier_for_tests())
        async with serving(app, "http://gateway.test/open311/v2/") as client:
            pool: AsyncConnectionPool = app.state.service.pool
            await _configure(
                settings,
                pool,
                [(CITY, partner), (CITY, second), (CITY, revoked), (OTHER_CITY, foreign)],
                revoked,
            )
            yield WriteGateway(app, client, settings, topics, pool, partner, second, revoked, foreign)
    finally:
        drop_database(pg_admin_dsn, dsn)


@pytest.fixture(params=("xml", "json"))
def fmt(request: pytest.FixtureRequest) -> str:
    return request.param


def items(r: httpx.Response, fmt: str, *, root: str, item: str) -> list[dict[str, Any]]:
    """The repeated children of an Open311 document as dicts (XML: empty element -> None)."""
    if fmt == "json":
        assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
        body = r.json()
        assert isinstance(body, list), f"JSON root must be an array (G-30): {body!r}"
        return body
    assert r.headers["content-type"].startswith("text/xml"), r.headers["content-type"]
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), r.content[:60]
    doc = ElementTree.fromstring(r.content)
    assert doc.tag == root, f"root {doc.tag!r}, expected {root!r}"
    out = []
    for child in doc:
        assert child.tag == item, f"child {child.tag!r}, expected {item!r}"
        out.append({field.tag: (field.text or None) for field in child})
    return out


def answers(r: httpx.Response, fmt: str) -> list[dict[str, Any]]:
    assert r.status_code == 200, f"{r.status_code}: {r.text[:500]}"
    return items(r, fmt, root="service_requests", item="request")


def errors(r: httpx.Response, fmt: str, status: int) -> str:
    """ER-01..ER-03: the status, an error document in the requested format; the descriptions joined."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    found = items(r, fmt, root="errors", item="error")
    assert found, "an error document holds at least one error"
    assert all(str(e["code"]) == str(status) for e in found), found
    return " | ".join(str(e["description"]) for e in found)
