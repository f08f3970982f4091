"""The Open311 client tests' world: a deviant Open311 server on 127.0.0.1, a migrated database, events on the log.

The deviant server answers the way real servers go wrong (CHECKLIST §8): JSON roots wrapped in objects, numeric
ids, string booleans and coordinates, `application/xml` (and a Content-Type that lies), arrays of one, dates with
fractional seconds and `-05` offsets, an updates root named `service_requests_updates` (FX-03), and batch tokens
that resolve only after a delay.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from civicloop_events import Actor, Event, Location, decode_event
from civicloop_events.payloads import BodyDefined, Open311Connection, SendMethod
from civicloop_events.topics import Topics
from civicloop_outbound.adapters.postgres_config import apply_outbound_config_event
from civicloop_outbound.domain.ports import BodyRecord, DispatchPayload, OutboundItem
from civicloop_testing import read_all_records
from civicloop_testing.events import config_event
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

JURISDICTION = "springfield.example.gov"
RESIDENT = Actor(kind="resident")


def w3c_odd(when: datetime) -> str:
    """A date as Bloomington writes it: minutes, no seconds, an offset without minutes (G-42)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class DeviantState:
    """What the deviant server holds; tests set it up and read what it received."""

    api_key: str = "deviant-key"
    posts: list[list[tuple[str, str]]] = field(default_factory=list)
    next_id: int = 1000
    token_delay_s: float = 1.0
    tokens: dict[str, tuple[float, str]] = field(default_factory=dict)  # token -> (ready at, id)
    token_polls: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    update_queries: list[dict[str, str]] = field(default_factory=list)
    updates_down: bool = False
    request_queries: list[dict[str, str]] = field(default_factory=list)
    update_posts: list[dict[str, list[str]]] = field(
        default_factory=list
    )  # POST servicerequestupdates, accepted
    update_attempts: int = 0  # every POST servicerequestupdates, refused ones too
    updates_refused_with: int | None = (
        None  # answer every update POST with this status (405: no such endpoint)
    )

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


def _xml(body: str, content_type: str = "application/xml; charset=utf-8", status: int = 200) -> Response:
    return Response(
        f'<?xml version="1.0" encoding="utf-8"?>{body}',
        status_code=status,
        headers={"Content-Type": content_type},
    )


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def deviant_app(state: DeviantState) -> Starlette:
    async def post_requests(request: Request) -> Response:
        form = list((await request.form(max_fields=5000)).multi_items())
        state.posts.append([(k, str(v)) for k, v in form])
        fields = dict(form)
        if fields.get("api_key") != state.api_key:
            return _xml(
                "<errors><error><code>403</code><description>api_key is invalid</description></error>"
                "</errors>",
                status=403,
            )
        code = fields.get("service_code")
        if code == "DOWN":
            return Response(
                "<html><body>502 Bad Gateway</body></html>",
                status_code=502,
                headers={"Content-Type": "text/html"},
            )
        if code == "BUSY":
            return Response("slow down", status_code=429, headers={"Retry-After": "30"})
        if code not in ("RT-9", "BATCH", "BLACK"):
            return _xml(
                "<errors><error><code>404</code><description>Service Code not found</description>"
                "</error></errors>",
                status=404,
            )
        state.next_id += 1
        if code == "RT-9":  # Mark-a-Spot: object-wrapped, a number for the id, 201 (PR-10)
            return Response(
                json.dumps({"service_requests": {"request": {"service_request_id": state.next_id}}}),
                status_code=201,
                headers={"Content-Type": "application/json"},
            )
        if code == "BATCH":  # a token, with a header that says JSON while the body is XML (G-12: sniff)
            token = uuid.uuid4().hex.upper()
            state.tokens[token] = (time.monotonic() + state.token_delay_s, str(state.next_id))
            return _xml(
                f"<service_requests><request><token>{token}</token></request></service_requests>",
                content_type="application/json",
            )
        return _xml("<service_requests></service_requests>", content_type="text/xml")  # blackbox

    async def post_updates(request: Request) -> Response:
        """POST servicerequestupdates as FixMyStreet-style servers take it (CHECKLIST FX-10)."""
        state.update_attempts += 1
        if state.updates_refused_with is not None:
            return Response("Method Not Allowed", status_code=state.updates_refused_with)
        form = await request.form()
        fields: dict[str, list[str]] = {}
        for k, v in form.multi_items():
            fields.setdefault(k, []).append(str(v))
        if fields.get("api_key") != [state.api_key]:
            return _xml(
                "<errors><error><code>403</code><description>api_key is invalid</description></error>"
                "</errors>",
                status=403,
            )
        if any(p.get("update_id") == fields.get("update_id") for p in state.update_posts):
            return _xml(  # FixMyStreet drops a repeated update_id (CHECKLIST FX-11)
                "<errors><error><code>400</code><description>Bad request: update_id already exists"
                "</description></error></errors>",
                status=400,
            )
        state.update_posts.append(fields)
        return _xml(
            "<service_request_updates><request_update>"
            f"<update_id>U-{len(state.update_posts)}</update_id></request_update></service_request_updates>"
        )

    async def get_token(request: Request) -> Response:
        token = request.path_params["token"]
        state.token_polls += 1
        if token not in state.tokens:
            return _xml(
                "<errors><error><code>404</code><description>token not found</description></error></errors>",
                status=404,
            )
        ready_at, sr_id = state.tokens[token]
        if time.monotonic() < ready_at:  # TK-03: known, still processing
            return _xml(
                f"<service_requests><request><token>{token}</token><service_request_id/></request>"
                "</service_requests>"
            )
        return _xml(
            f"<service_requests><request><service_request_id>{sr_id}</service_request_id>"
            f"<token>{token}</token></request></service_requests>"
        )

    async def get_updates(request: Request) -> Response:
        state.update_queries.append(dict(request.query_params))
        if state.updates_down:
            return Response(
                "<html><body>503 Service Unavailable</body></html>",
                status_code=503,
                headers={"Content-Type": "text/html"},
            )
        items = "".join(
            "<request_update>"
            + "".join(
                f"<{k}>{_xml_escape(str(v))}</{k}>" if v not in (None, "") else f"<{k}/>"
                for k, v in u.items()
            )
            + "</request_update>"
            for u in state.updates
        )
        return _xml(f"<service_requests_updates>{items}</service_requests_updates>", content_type="text/xml")

    async def get_requests(request: Request) -> Response:
        state.request_queries.append(dict(request.query_params))
        if not state.requests:  # Mark-a-Spot: 404 on an empty list (RQ-06)
            return Response(
                json.dumps([{"code": 404, "description": "No Service requests found"}]),
                status_code=404,
                headers={"Content-Type": "application/json"},
            )
        return Response(
            json.dumps({"service_requests": state.requests}),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    async def get_discovery(request: Request) -> Response:  # Parker-style formats, an object root (G-34)
        base = f"{request.url.scheme}://{request.url.netloc}/v2"
        return Response(
            json.dumps(
                {
                    "discovery": {
                        "changeset": "2012-09-18T15:37-05",
                        "endpoints": {
                            "endpoint": [
                                {
                                    "specification": "http://wiki.open311.org/GeoReport_v2",
                                    "url": base,
                                    "type": "production",
                                    "changeset": "2012-09-18T15:37-05",
                                    "formats": {"format": ["text/xml", "application/json"]},
                                }
                            ]
                        },
                    }
                }
            ),
            headers={"Content-Type": "text/plain"},
        )

    return Starlette(
        routes=[
            Route("/discovery.json", get_discovery, methods=["GET"]),
            Route("/v2/requests.{fmt}", post_requests, methods=["POST"]),
            Route("/v2/requests.{fmt}", get_requests, methods=["GET"]),
            Route("/v2/tokens/{token}.{fmt}", get_token, methods=["GET"]),
            Route("/v2/servicerequestupdates.{fmt}", get_updates, methods=["GET"]),
            Route("/v2/servicerequestupdates.{fmt}", post_updates, methods=["POST"]),
        ]
    )


def deviant_body(url: str, body_id: str, **connection: Any) -> BodyDefined:
    values: dict[str, Any] = {
        "endpoint": f"{url}/v2",
        "jurisdiction_id": "deviant.example",
        "api_key_ref": "deviant.key",
        "format": "xml",
        "multivaluelist_style": "repeat",
        "id_field": "civicloop_id",
        "extra_attributes": {"origin": "civicloop"},
        "service_code_map": {"POTHOLE": "RT-9", "BULKY": "BATCH", "GRAFFITI": "BLACK"},
        "status_map": {"crew_assigned": "in_progress", "done": "closed"},
    }
    values.update(connection)
    return BodyDefined(
        body_id=body_id,
        name="Deviant Public Works",
        send_method=SendMethod.open311,
        service_codes=["POTHOLE", "BULKY", "GRAFFITI", "TREE"],
        open311=Open311Connection(**values),
    )


async def define_body(pool: Any, jurisdiction_id: str, body: BodyDefined) -> BodyRecord:
    """Fold the body's definition the way the outbound config consumer does."""
    event = config_event(body, jurisdiction_id=jurisdiction_id, admin="tests")
    async with pool.connection() as conn, conn.transaction():
        await apply_outbound_config_event(conn, event)
    return BodyRecord(jurisdiction_id, body)


def outbound_item(
    request_id: str,
    service_code: str,
    *,
    attributes: dict[str, list[str]] | None = None,
    description: str = "A deep pothole",
) -> OutboundItem:
    payload = DispatchPayload(
        request_id=request_id,
        jurisdiction_id=JURISDICTION,
        service_code=service_code,
        service_name=service_code,
        description=description,
        location=Location(lat=39.781700, long=-89.65010049, address_string="1 Main St"),
        attributes=attributes or {},
        submitted_at=datetime.now(UTC),
        source="web",
    )
    return OutboundItem(
        seq=1,
        delivery_id=str(uuid.uuid4()),
        method=SendMethod.open311,
        purpose="deliver",
        attempt=1,
        payload=payload,
        request_url=f"http://civicloop.test/r/{request_id}",
    )


async def read_events(
    bootstrap: str, topics: Topics, *, request_id: str | None = None, types: tuple[str, ...] = ()
) -> list[Event[Any]]:
    """Every event on the request topic right now (from the beginning), optionally only one request's / some types,
    in the order they were recorded. The suite's topic holds every test's events (imports of thousands): one
    request's, or some types', are picked by their key and type header before anything is decoded, since a test polls this."""
    records = await read_all_records(bootstrap, topics.request_events, topics.partitions)
    key = request_id.encode() if request_id is not None else None
    wanted = {t.encode() for t in types}
    events = (
        decode_event(r.value)
        for r in records
        if (key is None or r.key == key) and (not wanted or dict(r.headers).get("event_type") in wanted)
    )
    return sorted(
        (
            e
            for e in events
            if (request_id is None or e.request_id == request_id) and (not types or e.type in types)
        ),
        key=lambda e: e.recorded_at,
    )
