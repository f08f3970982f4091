"""The conformance suite's world: two cities' catalogues (`civicloop_testing.open311_catalogue`), partners, requests
made long ago, and the gateway app.

Shared by `conftest.py` (the session's gateway) and the test modules; named uniquely so that it never collides with
another directory's `conftest` when the whole repository's tests run together.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from civicloop_events import Actor, Event, Location, ServiceDefined, ServiceRequestSubmitted, request_numbers
from civicloop_events.payloads import (
    PartnerAuthorised,
    PartnerKeyRevoked,
)
from civicloop_events.producer import EventProducer, Position
from civicloop_events.topics import Topics
from civicloop_gateway.entrypoints.cli import app as cli
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import GatewaySettings
from civicloop_testing.asgi import serving
from civicloop_testing.events import config_event, publish_events, request_event
from civicloop_testing.open311_catalogue import POTHOLE, SPRINGFIELD, STREETLIGHT, catalogue, streetlight_form
from civicloop_testing.run_settings import run_settings
from typer.testing import CliRunner

# A third city, used only for the volume test.
OGDENVILLE = "ogdenville.example.gov"
RESIDENT = Actor(kind="resident")


def partner_key() -> tuple[str, str]:
    """(key_id, key) in the gateway's key format `o311_<key_id>_<secret>`; only sha256(key) is ever published."""
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(8))
    return key_id, f"o311_{key_id}_{secrets.token_urlsafe(32)}"


@dataclass
class Partner:
    client_id: str
    key_id: str
    key: str

    @property
    def key_sha256(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()


@dataclass
class Gateway:
    """The running app, a client on its Open311 base path, and producers on its topics."""

    app: Any
    client: httpx.AsyncClient
    settings: GatewaySettings
    topics: Topics
    bootstrap: str
    partner: Partner
    other_partner: Partner
    revoked_partner: Partner
    requests_producer: EventProducer
    history: dict[str, str] = field(default_factory=dict)  # name -> request number of requests made long ago
    configured_at: datetime | None = None  # just before the configuration was published

    async def get(self, path: str, fmt: str | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(f"{path}.{fmt}" if fmt else path, params=_params(params))

    async def post(
        self,
        path: str,
        fmt: str | None,
        data: Any,
        *,
        files: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A form POST; `data` is a mapping or a list of (name, value) pairs (repeated names kept in order)."""
        url = f"{path}.{fmt}" if fmt else path
        if isinstance(data, list):
            if files:
                grouped: dict[str, list[str]] = {}
                for name, value in data:
                    grouped.setdefault(name, []).append(value)
                return await self.client.post(url, data=grouped, files=files, params=params, headers=headers)
            return await self.client.post(
                url,
                content=urlencode(data).encode(),
                params=params,
                headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
            )
        return await self.client.post(url, data=data, files=files, params=params, headers=headers)

    async def submit(self, fmt: str, headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
        """POST requests.{fmt} as the partner, in Springfield unless told."""
        body = {"api_key": self.partner.key, "jurisdiction_id": SPRINGFIELD, **fields}
        return await self.post(
            "requests", fmt, {k: v for k, v in body.items() if v is not None}, headers=headers
        )

    async def publish_request_event(self, event: Event[Any]) -> Position:
        return await self.requests_producer.publish(event)


def _params(params: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for k, v in params.items():
        for item in v if isinstance(v, (list, tuple)) else [v]:
            if item is not None:
                pairs.append((k, str(item)))
    return pairs


def streetlight_fields(**overrides: Any) -> dict[str, Any]:
    return streetlight_form(**{"address_string": "742 Evergreen Terrace, Springfield", **overrides})


def historic_submission(
    number: str, jurisdiction_id: str, service_code: str, when: datetime, description: str
) -> Event[Any]:
    """A request submitted long ago through another channel (as intake would have published it)."""
    return request_event(
        ServiceRequestSubmitted(
            service_code=service_code,
            description=description,
            location=Location(lat=39.80, long=-89.64, address_string="1 Main St"),
        ),
        request_id=number,
        actor=RESIDENT,
        source="web",
        jurisdiction_id=jurisdiction_id,
        occurred_at=when,
    )


def new_number() -> str:
    return request_numbers.new_request_number()


NOW = datetime.now(UTC).replace(microsecond=0)
# Requests made in the past, for the 90-day window (RQ-03) and the service_request_id override (RQ-02).
HISTORY = {
    "old_120d": (POTHOLE, NOW - timedelta(days=120)),
    "at_30d": (POTHOLE, NOW - timedelta(days=30)),
    "at_45d_streetlight": (STREETLIGHT, NOW - timedelta(days=45)),
    "closed_20d": (POTHOLE, NOW - timedelta(days=20)),  # closed 19 days ago
}
CLOSED_AT = NOW - timedelta(days=19)


async def publish_configuration(
    bootstrap: str,
    topics: Topics,
    partners: list[tuple[str, Partner]],
    revoked: list[tuple[str, Partner]] = (),
) -> None:
    # Partners first: once a city's catalogue is served, its partners were folded before it (one partition).
    payloads: list[tuple[str, Any]] = [
        (
            j,
            PartnerAuthorised(
                client_id=p.client_id,
                name=f"{p.client_id} (conformance)",
                key_id=p.key_id,
                key_sha256=p.key_sha256,
            ),
        )
        for j, p in [*partners, *revoked]
    ]
    payloads += [(j, PartnerKeyRevoked(client_id=p.client_id, key_id=p.key_id)) for j, p in revoked]
    payloads += catalogue()
    # Last, so that once Ogdenville's service is served everything before it was folded (one partition).
    payloads.append((OGDENVILLE, ServiceDefined(service_code=POTHOLE, service_name="Pothole")))
    events = [config_event(p, jurisdiction_id=j, admin="conformance") for j, p in payloads]
    await publish_events(bootstrap, topics.jurisdiction_config, events, client_id="conformance-config")


def gateway_settings(dsn: str, topics: Topics, bootstrap: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "log_level": "WARNING",
        "public_base_url": "http://gateway.test",
        "jurisdictions_mode": "multi",
        "read_your_writes_timeout_s": 5.0,
    }
    return run_settings(GatewaySettings, dsn, bootstrap, topics, **{**values, **overrides})


def run_migrations(dsn: str) -> None:
    """`civicloop-gateway migrate`, as an operator runs it (in this process)."""
    result = CliRunner().invoke(cli, ["migrate"], env={"CIVICLOOP_PG_DSN": dsn, "CIVICLOOP_ENV": "test"})
    assert result.exit_code == 0, f"civicloop-gateway migrate failed: {result.output}\n{result.exception!r}"


@asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(settings)
    async with serving(app, "http://gateway.test/open311/v2/", timeout=30) as client:
        yield app, client


async def catalogue_served(client: httpx.AsyncClient) -> bool:
    """Ogdenville's service, the last configuration event, is in its service list."""
    r = await client.get("services.json", params={"jurisdiction_id": OGDENVILLE})
    return r.status_code == 200 and any(s.get("service_code") == POTHOLE for s in r.json())


BULK = 1001
