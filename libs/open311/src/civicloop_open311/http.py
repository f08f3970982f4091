"""Open311 over HTTP (ASGI): a document as a response with the spec's content types (G-10, G-11), and every failure
under the Open311 base path as an Open311 error document.

`<errors><error><code/><description/></error></errors>` in XML, `[{"code":…,"description":…}]` in JSON, in the
format the path asks for, XML when it asks for none we know (G-05). HTTP statuses (ER-02): 404 for what does not
exist (unknown route, resource, service code, jurisdiction, format), 403 for a missing or bad api_key, 400 for any
other request that cannot be fulfilled (validation included, never FastAPI's 422), 405 for a method a resource
does not have (with `Allow`). Past the request (ER-04, our choice): 503 with `Retry-After` when a store the app names as `unavailable` is
unreachable, 500 for anything unexpected, never with a stack trace in the body.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloop_open311.errors import DEFAULT_DESCRIPTIONS, ErrorItem, Open311Error, error_document
from civicloop_open311.form_body import BadForm, FormBody
from civicloop_open311.formats import Format, UnknownFormat, format_of_path, parse_format
from civicloop_open311.forms import OpenForm
from civicloop_open311.render import Document, render

log = logging.getLogger("civicloop.open311.http")

# Parameters a POST may carry in its query string as well as in its body (G-71: the Swagger draft puts the api_key
# there; G-63).
POST_QUERY_PARAMETERS = ("api_key", "jurisdiction_id")


def document_response(
    document: Document, fmt: Format, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        render(document, fmt),
        status_code=status,
        media_type=None,
        headers={"Content-Type": fmt.content_type, **(headers or {})},
    )


def requested_format(suffix: str) -> Format:
    """The format a route's `.{fmt}` suffix asks for; any other suffix is an Open311 404 (G-05)."""
    try:
        return parse_format(suffix)
    except UnknownFormat as exc:
        raise Open311Error(404, 404, str(exc)) from None


def error_response(
    status: int, errors: Sequence[ErrorItem], fmt: Format | None, headers: dict[str, str] | None = None
) -> Response:
    return document_response(error_document(errors), fmt or Format.xml, status=status, headers=headers)


def open311_error_response(exc: Open311Error, request_path: str) -> Response:
    return error_response(exc.status, exc.errors, format_of_path(request_path), exc.headers)


def render_open311_error(request: Request, status: int, error: str, detail: str) -> Response:
    """An error the service skeleton answers itself (413 for a body too large) as an Open311 error document, in the
    format the path asks for (`civicloop_runtime.app.service_app(render_error=...)`)."""
    return error_response(status, [ErrorItem(status, detail)], format_of_path(request.url.path))


def require_bearer(request: Request, expected: str | None) -> None:
    """Let the request through only with `Authorization: Bearer <expected>` (compared in constant time); refuse
    with an Open311 error otherwise, and always when no token is configured (deny by default)."""
    token = bearer_token(request)
    if token is None:
        raise Open311Error(
            401,
            401,
            "Authorization: Bearer <admin token> is required.",
            headers={"WWW-Authenticate": 'Bearer realm="civicloop-open311-admin"'},
        )
    if not expected:
        raise Open311Error(403, 403, "The admin API is closed: no admin token is configured.")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Open311Error(403, 403, "The admin token is not valid.")


def bearer_token(request: Request) -> str | None:
    """The credentials of an `Authorization: Bearer <token>` header (scheme in any case), None without one."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


async def read_post_form(request: Request) -> OpenForm:
    """The text parameters of a POST (PR-01): the body's, form-encoded or multipart, then the query string's api_key
    and jurisdiction_id. Read as the body streams in, and refused with a 400 at the first thing that cannot be
    taken: bytes that are not UTF-8 (G-10), a file part (CivicLoop stores no uploads: photos travel as
    `media_url`, PR-07), too many parameters or too large a value (`civicloop_open311.form_body`)."""
    try:
        body = FormBody(request.headers.get("content-type", ""))
        async for chunk in request.stream():
            body.feed(chunk)
        pairs = body.pairs()
    except BadForm as exc:
        raise Open311Error(400, 400, exc.description) from None
    pairs += [(k, v) for k, v in request.query_params.multi_items() if k in POST_QUERY_PARAMETERS]
    return OpenForm.parse(pairs)


def _validation_errors(exc: RequestValidationError) -> list[ErrorItem]:
    items = []
    for e in exc.errors():
        loc = [str(part) for part in e.get("loc", ()) if part not in ("query", "path", "body", "form")]
        where = ".".join(loc) or "request"
        items.append(
            ErrorItem(400, f"{where}: {e.get('msg', 'invalid')}")
        )  # never the input: it may be personal
    return items or [ErrorItem(400, DEFAULT_DESCRIPTIONS[400])]


def openapi_with_open311_errors(schema: dict[str, Any], *, base_path: str) -> dict[str, Any]:
    """FastAPI documents 422 for every route with parameters; under `base_path` validation answers 400 instead."""
    for path, operations in schema.get("paths", {}).items():
        if not _under(path, base_path):
            continue
        for operation in operations.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not responses or "422" not in responses:
                continue
            del responses["422"]
            responses.setdefault(
                "400",
                {
                    "description": "Invalid request (an Open311 error document).",
                    "content": {
                        "text/xml": {"schema": {"type": "string"}},
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["code", "description"],
                                    "properties": {
                                        "code": {"type": ["integer", "string"]},
                                        "description": {"type": "string"},
                                    },
                                },
                            }
                        },
                    },
                },
            )
    return schema


def _under(path: str, base_path: str) -> bool:
    return path == base_path or path.startswith(base_path + "/")


def install_open311_error_handlers(
    app: FastAPI, *, base_path: str, unavailable: Sequence[type[Exception]] = ()
) -> None:
    """Route every error under `base_path` to an Open311 document; elsewhere FastAPI's own answers stand.

    `unavailable`: the exceptions that mean the app's store cannot be reached (its database driver's), answered 503.
    """

    @app.exception_handler(Open311Error)
    async def open311_error(request: Request, exc: Open311Error) -> Response:
        return open311_error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if not _under(request.url.path, base_path):
            return await request_validation_exception_handler(request, exc)
        return error_response(400, _validation_errors(exc), format_of_path(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not _under(request.url.path, base_path):
            return await http_exception_handler(request, exc)
        status = exc.status_code
        description = DEFAULT_DESCRIPTIONS.get(status) or str(exc.detail)
        if status == 404:
            description = f"Resource not found: {request.url.path}"
        elif status == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            description = f"Method {request.method} not allowed on this resource" + (
                f" (allowed: {allowed})" if allowed else ""
            )
        return error_response(
            status,
            [ErrorItem(status, description)],
            format_of_path(request.url.path),
            dict(exc.headers or {}),
        )

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable", extra={"error": type(exc).__name__})
        if not _under(request.url.path, base_path):
            return Response(
                '{"detail":"database unavailable"}',
                status_code=503,
                media_type="application/json",
                headers={"Retry-After": "5"},
            )
        return error_response(
            503,
            [ErrorItem(503, DEFAULT_DESCRIPTIONS[503])],
            format_of_path(request.url.path),
            {"Retry-After": "5"},
        )

    for exception in unavailable:
        app.add_exception_handler(exception, database_unavailable)
    app.add_middleware(Open311Guard, base_path=base_path)


class Open311Guard:
    """ASGI middleware for the Open311 paths: CORS on GETs (G-36), and a 500 document for anything unexpected."""

    def __init__(self, app: ASGIApp, *, base_path: str) -> None:
        self.app = app
        self.base_path = base_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under(scope["path"], self.base_path):
            await self.app(scope, receive, send)
            return
        cors = scope["method"] in ("GET", "HEAD")
        started = False
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            # PostgreSQL text cannot hold NUL: refuse it here, for every Open311 route, as the bad input it is.
            response = error_response(
                400, [ErrorItem(400, "The request contains a NUL character.")], format_of_path(scope["path"])
            )
            await response(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if cors:
                    headers: list[Any] = list(message.get("headers", []))
                    if not any(k.lower() == b"access-control-allow-origin" for k, _ in headers):
                        headers.append((b"access-control-allow-origin", b"*"))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_cors)
        except Exception:
            log.exception("unexpected error", extra={"method": scope["method"], "path": scope["path"]})
            if started:
                raise
            response = error_response(
                500, [ErrorItem(500, DEFAULT_DESCRIPTIONS[500])], format_of_path(scope["path"])
            )
            await response(scope, receive, send_with_cors)
