"""Open311 GeoReport v2 reads, each in XML and JSON by its suffix: discovery, services, service definitions,
requests, one request, tokens, and FixMyStreet's servicerequestupdates (CHECKLIST §2, §3, §5)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from civicloop_events.payloads import RequestStatus
from civicloop_open311 import openapi
from civicloop_open311.documents import (
    discovery_document,
    rendered_requests_document,
    service_definition_document,
    services_document,
    token_document,
    updates_document,
    view_requests_document,
)
from civicloop_open311.errors import Open311Error
from civicloop_open311.formats import Format
from civicloop_open311.http import document_response, requested_format
from civicloop_open311.render import Many
from civicloop_runtime.app import running_service
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from civicloop_gateway.adapters.open311_queries import EXTENSION_COLUMNS, Open311View
from civicloop_gateway.bootstrap import Gateway
from civicloop_gateway.domain.jurisdictions import (
    JurisdictionMissing,
    JurisdictionNotFound,
    resolve_jurisdiction,
)
from civicloop_gateway.domain.queries import (
    InvalidQuery,
    Limits,
    Page,
    Params,
    boolean,
    request_query,
    single,
    updates_query,
)
from civicloop_gateway.domain.statuses import citysdk_detailed_status
from civicloop_gateway.settings import GatewaySettings, JurisdictionsMode

router = APIRouter(tags=["Open311"])
Route = TypeVar("Route", bound=Callable[..., Any])
Q = TypeVar("Q")
R = TypeVar("R")

EXTENSIONS = (
    "servicerequestupdates",  # FX-01
    "page",  # PG-02: page, page_size
    "updated_after",  # UP-01: updated_after, updated_before
    "lat_long_radius",  # GEO-01
    "extensions",  # CX-01: extensions=true adds extended_attributes
    "request/{service_request_id}",  # G-04
)

FormatPath = Annotated[
    str,
    Path(
        description="Response format: the suffix after the last dot (G-01, G-05).",
        json_schema_extra={"enum": ["xml", "json"]},
    ),
]


def query_parameter(name: str, description: str) -> dict[str, Any]:
    """An optional text query parameter, as the OpenAPI document lists it.

    The reads take their query parameters from the request themselves (the rules of `domain/queries.py` read the
    raw strings): declared in the route's signature instead, each would be parsed and validated once more per
    request, and a list of a thousand requests is answered in well under a millisecond of its own.
    """
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


JURISDICTION_PARAMETERS = [
    query_parameter(
        "jurisdiction_id",
        "Needed only when the endpoint serves several jurisdictions and has no default (G-60..G-62).",
    ),
    query_parameter("api_key", "Accepted and ignored on reads (G-72)."),
]


def _gateway(request: Request) -> Gateway:
    gateway: Gateway | None = running_service(request)
    if gateway is None:
        raise Open311Error(503, description="The gateway is starting; retry shortly.")
    return gateway


async def _gateway_dependency(request: Request) -> Gateway:
    """The running gateway (a coroutine, so FastAPI resolves it in the event loop, not in a worker thread)."""
    return _gateway(request)


GatewayDep = Annotated[Gateway, Depends(_gateway_dependency)]


def _params(request: Request) -> Params:
    return {key: request.query_params.getlist(key) for key in request.query_params}


def _limits(settings: GatewaySettings) -> Limits:
    return Limits(
        max_requests=settings.max_requests,
        window_days=settings.default_window_days,
        updates_window_hours=settings.updates_default_window_hours,
        max_radius_m=settings.max_radius_m,
    )


async def _jurisdiction(gateway: Gateway, request: Request) -> str:
    s = gateway.settings
    try:
        return await resolve_jurisdiction(
            single(request.query_params.getlist("jurisdiction_id")),
            single=s.jurisdictions_mode is JurisdictionsMode.single,
            default=s.default_jurisdiction_id,
            exists=gateway.read_view.jurisdiction_exists,
        )
    except JurisdictionMissing as exc:
        raise Open311Error(400, description=str(exc)) from None
    except JurisdictionNotFound as exc:
        raise Open311Error(404, description=str(exc)) from None


@dataclass(frozen=True)
class Read:
    """What a read of one jurisdiction settles before anything else: the format asked for (G-01, G-05), then the
    jurisdiction (G-60..G-62); with the request (its parameters), the view it reads and the settings."""

    request: Request
    format: Format
    jurisdiction_id: str
    view: Open311View
    settings: GatewaySettings


async def _read(fmt: str, request: Request) -> Read:
    """The format (G-01, G-05), then the jurisdiction (G-60..G-62: `jurisdiction_id` read as every single parameter
    is, the last non-empty value); `api_key` is ignored on reads (G-72)."""
    f = requested_format(fmt)
    gateway = _gateway(request)
    jurisdiction = await _jurisdiction(gateway, request)
    return Read(request, f, jurisdiction, gateway.read_view, gateway.settings)


def _jurisdiction_read(
    path: str,
    summary: str,
    json_schema: dict[str, Any],
    xml_root: str,
    parameters: Sequence[dict[str, Any]] = (),
) -> Callable[[Route], Route]:
    """A GET of one jurisdiction answering an Open311 document in XML or JSON: 400 for a bad parameter or a missing
    jurisdiction_id, 404 for an unknown jurisdiction, resource or format (documented with the document's schema);
    `parameters`: its query parameters besides jurisdiction_id and api_key (`query_parameter`)."""
    return router.get(
        path,
        summary=summary,
        response_class=Response,
        responses=openapi.responses(json_schema, xml_root, 400, 404),
        openapi_extra={"parameters": [*JURISDICTION_PARAMETERS, *parameters]},
    )


def _query(build: Callable[..., Q], read: Read) -> Q:
    """A list's query from the request's parameters; a broken rule is a 400."""
    try:
        return build(
            _params(read.request),
            jurisdiction_id=read.jurisdiction_id,
            now=datetime.now(UTC),
            limits=_limits(read.settings),
        )
    except InvalidQuery as exc:
        raise _bad_query(exc) from None


def _paged(read: Read, page: Page, rows: Sequence[R]) -> tuple[Sequence[R], dict[str, str]]:
    """The page's rows (the view reads one past it) and, when more follow, the link to the next page."""
    headers = _next_page_link(read.request, page) if len(rows) > page.limit else {}
    return rows[: page.limit], headers


def _bad_query(exc: InvalidQuery) -> Open311Error:
    return Open311Error(400, description=str(exc))


def _next_page_link(request: Request, page: Page) -> dict[str, str]:
    """PG-02: no count in the document; a `Link: rel="next"` header when more rows follow."""
    number = page.number or 1
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "page_size")]
    query += [("page", str(number + 1)), ("page_size", str(page.limit))]
    url = request.url.replace(query=urlencode(query))
    return {"Link": f'<{url}>; rel="next"'}


def _extended(row: Sequence[Any]) -> dict[str, Any]:
    """CX-01, ST-03: what `extensions=true` adds; the channel without any client's name."""
    civicloop_status, source, media_urls = row[-len(EXTENSION_COLUMNS) :]
    return {
        "channel": str(source).split(":", 1)[0],
        "detailed_status": citysdk_detailed_status(RequestStatus(civicloop_status)),
        "media_urls": Many("media_url", list(media_urls or ())),
    }


@router.get(
    "/discovery.{fmt}",
    summary="Service discovery: contact, key service and the GeoReport v2 endpoint (DS-01..DS-06).",
    response_class=Response,
    responses=openapi.responses(openapi.DISCOVERY, "discovery", 404),
    openapi_extra={"parameters": JURISDICTION_PARAMETERS[:1]},
)
async def discovery(fmt: FormatPath, request: Request, gateway: GatewayDep) -> Response:
    f = requested_format(fmt)
    given = single(request.query_params.getlist("jurisdiction_id"))
    jurisdiction = await _jurisdiction(gateway, request) if given else None
    changeset = await gateway.read_view.changeset(jurisdiction) or gateway.started_at
    s = gateway.settings
    document = discovery_document(
        changeset=changeset,
        contact=s.contact,
        key_service=s.key_service,
        url=s.open311_base_url,
        endpoint_type=s.endpoint_type,
        formats=[Format.xml.media_type, Format.json.media_type],
        extensions=EXTENSIONS,
    )
    return document_response(document, f)


@_jurisdiction_read(
    "/services.{fmt}",
    "The service list of a jurisdiction (SL-01..SL-09).",
    openapi.SERVICES,
    "services",
)
async def services(fmt: FormatPath, request: Request) -> Response:
    read = await _read(fmt, request)
    rows = await read.view.services(read.jurisdiction_id)
    return document_response(services_document(rows), read.format)


@_jurisdiction_read(
    "/services/{service_code}.{fmt}",
    "The definition (attributes) of a service with metadata=true (SD-01..SD-12).",
    openapi.SERVICE_DEFINITION,
    "service_definition",
)
async def service_definition(service_code: str, fmt: FormatPath, request: Request) -> Response:
    read = await _read(fmt, request)
    attributes = await read.view.service_attributes(read.jurisdiction_id, service_code)
    if attributes is None:
        raise Open311Error(404, description=f"service_code {service_code!r} not found")
    if not attributes:
        # SD-11: a service with metadata=false has no definition to fetch.
        raise Open311Error(
            404, description=f"service_code {service_code!r} has no service definition (metadata=false)"
        )
    return document_response(service_definition_document(service_code, attributes), read.format)


PAGE_PARAMETERS = [
    query_parameter("page", "1-based page (PG-02)."),
    query_parameter("page_size", "Rows per page, 1..1000; default 1000 (PG-02)."),
]
EXTENSIONS_PARAMETER = query_parameter(
    "extensions", "true adds extended_attributes (channel, detailed_status, media_urls) (CX-01)."
)
REQUESTS_PARAMETERS = [
    query_parameter("service_request_id", "Comma-delimited ids; overrides every other filter (RQ-02)."),
    query_parameter("service_code", "Comma-delimited service codes (RQ-01)."),
    query_parameter("status", "Comma-delimited: open, closed (RQ-05)."),
    query_parameter(
        "start_date", "W3C date-time, inclusive, on requested_datetime; at most 90 days before end_date."
    ),
    query_parameter("end_date", "W3C date-time, inclusive (a date alone covers the whole day)."),
    query_parameter(
        "updated_after",
        "W3C date-time, inclusive, on updated_datetime; without start/end dates no 90-day default applies and "
        "results come oldest update first (UP-01).",
    ),
    query_parameter("updated_before", "W3C date-time, inclusive (UP-01)."),
    query_parameter("lat", "With long and radius: requests within radius metres."),
    query_parameter("long", "With lat and radius (GEO-01)."),
    query_parameter("radius", "Metres, with lat and long (GEO-01)."),
    *PAGE_PARAMETERS,
    EXTENSIONS_PARAMETER,
]


@_jurisdiction_read(
    "/requests.{fmt}",
    "Service requests: the last 90 days (at most 1000) unless filtered (RQ-01..RQ-08, PG, UP, GEO, CX).",
    openapi.REQUESTS,
    "service_requests",
    REQUESTS_PARAMETERS,
)
async def list_requests(fmt: FormatPath, request: Request) -> Response:
    read = await _read(fmt, request)
    query = _query(request_query, read)
    if query.extensions:
        rows, headers = _paged(read, query.page, await read.view.requests(query))
        document = view_requests_document(rows, extended=_extended)
        return document_response(document, read.format, headers=headers)
    # Each request's object was rendered when its row changed: the list is assembled from those texts.
    texts, headers = _paged(read, query.page, await read.view.rendered_requests(query, read.format))
    body = rendered_requests_document(texts, read.format)
    return Response(body, media_type=None, headers={"Content-Type": read.format.content_type, **headers})


async def _one_request(service_request_id: str, read: Read) -> Response:
    try:
        extended = boolean("extensions", read.request.query_params.getlist("extensions"))
    except InvalidQuery as exc:
        raise _bad_query(exc) from None
    row = await read.view.request(read.jurisdiction_id, service_request_id, extensions=extended)
    if row is None:
        raise Open311Error(
            404, description=f"Service request not found with id {service_request_id!r}"
        )  # R1-02
    document = view_requests_document([row], extended=_extended if extended else None)
    return document_response(document, read.format)  # R1-01: a list of one


@_jurisdiction_read(
    "/requests/{service_request_id}.{fmt}",
    "One service request, as a list of one (R1-01..R1-04).",
    openapi.ONE_REQUEST,
    "service_requests",
    [query_parameter("extensions", "true adds extended_attributes (R1-03).")],
)
async def get_request(service_request_id: str, fmt: FormatPath, request: Request) -> Response:
    return await _one_request(service_request_id, await _read(fmt, request))


@router.get("/request/{service_request_id}.{fmt}", include_in_schema=False, response_class=Response)
async def get_request_singular(service_request_id: str, fmt: str, request: Request) -> Response:
    """G-04: the Swagger draft's (and Boston's) singular path."""
    return await _one_request(service_request_id, await _read(fmt, request))


@_jurisdiction_read(
    "/tokens/{token}.{fmt}",
    "The service_request_id of a batch service's token; the token alone while pending (TK-01..TK-03).",
    openapi.TOKEN,
    "service_requests",
)
async def get_token(token: str, fmt: FormatPath, request: Request) -> Response:
    read = await _read(fmt, request)
    found = await read.view.token(read.jurisdiction_id, token, ttl=read.settings.batch_token_ttl)
    if found is None:
        raise Open311Error(404, description=f"token {token!r} not found")  # TK-02
    return document_response(token_document(*found), read.format)


@_jurisdiction_read(
    "/servicerequestupdates.{fmt}",
    "Status changes and public comments, oldest first, in a window on updated_datetime "
    "(FixMyStreet extension, FX-01..FX-03).",
    openapi.UPDATES,
    "service_request_updates",
    [
        query_parameter("start_date", "W3C date-time, inclusive; without dates: the last 24 hours (FX-02)."),
        query_parameter("end_date", "W3C date-time, inclusive; at most 90 days after start_date."),
        query_parameter("page", "1-based page (PG-02)."),
        query_parameter("page_size", "Rows per page, 1..1000."),
    ],
)
async def service_request_updates(fmt: FormatPath, request: Request) -> Response:
    read = await _read(fmt, request)
    query = _query(updates_query, read)
    rows, headers = _paged(read, query.page, await read.view.updates(query))
    return document_response(updates_document(rows), read.format, headers=headers)
