"""The app factory every HTTP service is built with: `service_app(...)`.

What it gives every service the same way: /docs and /redoc whose scripts it serves itself (`api_docs`); a lifespan that runs the service's bootstrap and closes what it opened;
/healthz, /readyz (the running service's `readiness_checks()`) and /metrics; one JSON log line per request with the
path only; OpenTelemetry spans whose URLs have no query string and whose attributes no secret; a request body limit
answered 413 in the service's own error format; load shedding (a bound on requests in flight, a deadline, a
client that leaves: `civicloop_runtime.shedding`); and a slot for a rate limiter. The service adds its routers, its
exception handlers and its own middleware to the app it gets back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloop_runtime.api_docs import serve_api_docs
from civicloop_runtime.ops import Check, ops_router
from civicloop_runtime.redaction import scrub_server_span
from civicloop_runtime.settings import ProcessSettings
from civicloop_runtime.shedding import Shedding

OPS_PATHS = ("/healthz", "/readyz", "/metrics")
log = logging.getLogger("civicloop.http")


class RunningService(Protocol):
    """What a service's `bootstrap(...)` returns."""

    def readiness_checks(self) -> dict[str, Check]: ...

    async def close(self) -> None: ...


# How a service answers an error the skeleton raises (413 here): (request, status, error code, human detail).
ErrorRenderer = Callable[[Request, int, str, str], Response]
# A rate limiter: None lets the request through, a response answers it instead (429 in the service's format).
RateLimit = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True)
class Shed:
    """The load-shedding bounds (`civicloop_runtime.shedding`) of a service's app."""

    max_in_flight: int
    deadline_s: float
    retry_after_s: float

    @classmethod
    def from_settings(cls, settings: ProcessSettings) -> Shed:
        return cls(settings.max_in_flight_requests, settings.request_deadline_s, settings.busy_retry_after_s)


def json_error(request: Request, status: int, error: str, detail: str) -> Response:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def running_service(request: Request) -> Any:
    """The running service of the app serving `request` (a FastAPI dependency for the routes)."""
    return request.app.state.service


def service_app(
    *,
    title: str,
    version: str,
    start: Callable[[], Awaitable[RunningService]],
    routers: Sequence[APIRouter] = (),
    summary: str | None = None,
    description: str = "",
    max_body_bytes: int = 1_048_576,
    render_error: ErrorRenderer = json_error,
    rate_limit: RateLimit | None = None,
    shedding: Shed | None = None,
) -> FastAPI:
    """`start` is the service's bootstrap with its settings bound; nothing opens before the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # /readyz compares the schema with the migrations on every probe: keep Alembic's per-check lines out.
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        app.state.service = await start()
        try:
            yield
        finally:
            service, app.state.service = app.state.service, None
            await service.close()

    app = FastAPI(
        title=title,
        version=version,
        summary=summary,
        description=description,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    # /docs and /redoc with their scripts served here, not from a CDN a county's network may not reach.
    serve_api_docs(app)
    app.state.service = None
    for router in routers:
        app.include_router(router)
    app.include_router(
        ops_router(lambda: app.state.service.readiness_checks() if app.state.service is not None else {})
    )
    if rate_limit is not None:
        app.add_middleware(_RateLimited, limit=rate_limit)
    _document_refusals(app, limited=rate_limit is not None, shed=shedding is not None)
    app.add_middleware(_BodyLimit, max_bytes=max_body_bytes, render_error=render_error)

    async def body_too_large(request: Request, exc: Exception) -> Response:
        return too_large(render_error, request, max_body_bytes)

    app.add_exception_handler(PayloadTooLarge, body_too_large)
    if shedding is not None:
        app.add_middleware(
            Shedding,
            max_in_flight=shedding.max_in_flight,
            deadline_s=shedding.deadline_s,
            retry_after_s=shedding.retry_after_s,
            render_error=render_error,
            exempt=OPS_PATHS,
        )
    app.add_middleware(_RequestLog)
    # One server span per request; not the instrumentation's extra span for each ASGI message received or sent.
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=",".join(p.lstrip("/") for p in OPS_PATHS),
        server_request_hook=scrub_server_span,
        exclude_spans=["receive", "send"],
    )
    return app


def _document_refusals(app: FastAPI, *, limited: bool, shed: bool) -> None:
    """Every route (the ops routes aside) may be refused by the skeleton: say so in the OpenAPI document, where the
    route does not describe these answers itself."""
    refusals = {}
    if limited:
        refusals["429"] = {
            "description": "Too many requests from this client: retry after `Retry-After` seconds"
        }
    if shed:
        refusals["503"] = {
            "description": "Busy, past the request's deadline, or a dependency unavailable: retry after `Retry-After`"
        }
    if not refusals:
        return
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path, operations in schema.get("paths", {}).items():
                if path in OPS_PATHS:
                    continue
                for operation in operations.values():
                    if isinstance(operation, dict) and "responses" in operation:
                        for status, answer in refusals.items():
                            operation["responses"].setdefault(status, answer)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class _RequestLog:
    """One line per request: method, path (never the query string: track's holds a phone), status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPS_PATHS:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )


class PayloadTooLarge(HTTPException):
    """Raised while the body streams in; an HTTPException, so that FastAPI lets it through to its handler."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")


class _BodyLimit:
    """Answers 413 when the declared length, or the bytes actually received, exceed `max_bytes`.

    An answer given before the body was read to its end (the 413, a 400 for a malformed form, a 403 for a missing
    key) first reads what is left of it, up to the limit and thrown away, so that the client, still sending,
    receives the answer rather than a reset connection; past the limit, it closes the connection instead. Kept
    alive without that, the server would read the rest of any body, however large, to find the next request.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, render_error: ErrorRenderer) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render_error = render_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        # No body to read (a GET): the connection may be kept alive whenever the answer comes.
        body_done = b"transfer-encoding" not in headers and (declared is None or declared.strip(b"0") == b"")

        async def counted() -> Message:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
                body_done = not message.get("more_body", False)
            return message

        async def read_to_the_end() -> bool:
            """What is left of the body read and dropped; False when it is over the limit or the client left."""
            while not body_done:
                if received > self.max_bytes:  # the 413 for it is on its way: read nothing more
                    return False
                try:
                    message = await counted()
                except PayloadTooLarge:
                    return False
                if message["type"] != "http.request":
                    return False
            return True

        async def closing_if_unread(message: Message) -> None:
            if message["type"] == "http.response.start" and not body_done and not await read_to_the_end():
                sent = list(message.get("headers", []))
                if not any(name.lower() == b"connection" for name, _ in sent):
                    message = {**message, "headers": [*sent, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counted, closing_if_unread)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = too_large(self.render_error, Request(scope, receive), self.max_bytes)
        await response(scope, receive, send)


def too_large(render_error: ErrorRenderer, request: Request, max_bytes: int) -> Response:
    response = render_error(
        request, 413, "payload_too_large", f"the request body is larger than {max_bytes} bytes"
    )
    # Closing the connection is what stops the read: kept alive, the server would drain the rest of the body
    # (all 20 MB of it) to find the next request.
    response.headers["Connection"] = "close"
    return response


class _RateLimited:
    def __init__(self, app: ASGIApp, *, limit: RateLimit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPS_PATHS:
            refused = await self.limit(Request(scope, receive))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)
