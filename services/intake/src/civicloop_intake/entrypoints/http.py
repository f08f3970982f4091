"""The HTTP app. `create_app` builds nothing but routes: the pool, producer and consumers open in the lifespan."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import psycopg
from civicloop_runtime.logs import configure_logging
from civicloop_runtime.ops import ops_router
from civicloop_runtime.telemetry import configure_tracing
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import Span
from psycopg_pool import PoolTimeout

from civicloop_intake.bootstrap import start_intake
from civicloop_intake.domain.corrections import CorrectionProblem, CorrectionRejected
from civicloop_intake.domain.merging import MergeProblem, MergeRejected
from civicloop_intake.domain.submissions import IdempotencyKeyReused
from civicloop_intake.domain.validation import FieldError, InvalidSubmission
from civicloop_intake.entrypoints.routes import IDEMPOTENCY_HEADER, agent_router, router
from civicloop_intake.service_layer.merge import InvalidRequestNumbers
from civicloop_intake.service_layer.ports import EventLogUnavailable
from civicloop_intake.service_layer.track import RequestNotFound
from civicloop_intake.settings import IntakeSettings

SERVICE = "civicloop-intake"
log = logging.getLogger("civicloop.intake.http")


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.intake = await start_intake(settings)
        try:
            yield
        finally:
            intake, app.state.intake = app.state.intake, None
            await intake.close()

    app = FastAPI(
        title="CivicLoop intake",
        version=version("civicloop-intake"),
        summary="Residents report problems and follow them.",
        lifespan=lifespan,
    )
    app.state.intake = None
    app.include_router(router)
    app.include_router(agent_router)
    app.include_router(ops_router(lambda: app.state.intake.readiness_checks() if app.state.intake else {}))
    _install_error_handlers(app)
    app.middleware("http")(_log_request)
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="/healthz,/readyz,/metrics", server_request_hook=_drop_query_from_span
    )
    return app


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory civicloop_intake.entrypoints.http:app_from_environment`: the process set up too."""
    settings = IntakeSettings()
    configure_logging(SERVICE, settings.log_level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /readyz reads the migration heads on every probe
    configure_tracing(SERVICE)
    return create_app(settings)


# -- errors ---------------------------------------------------------------------------------------------------------


def _field_errors(errors: list[FieldError]) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"type": e.type, "loc": list(e.loc), "msg": e.msg} for e in errors]}, status_code=422
    )


def _error(status: int, error: str, detail: str, request: Request, **headers: str) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "detail": detail}
    key = getattr(request.state, "idempotency_key", None)
    if key:
        body["idempotency_key"] = key
        headers[IDEMPOTENCY_HEADER] = key
    return JSONResponse(body, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_shape(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's shape without `input`, which would echo contact details back into responses and their logs.
        return _field_errors([FieldError(tuple(e["loc"]), e["msg"], e["type"]) for e in exc.errors()])

    @app.exception_handler(InvalidSubmission)
    async def invalid_submission(request: Request, exc: InvalidSubmission) -> JSONResponse:
        return _field_errors(exc.errors)

    @app.exception_handler(IdempotencyKeyReused)
    async def key_reused(request: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        return _error(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different request; use a new key",
            request,
        )

    @app.exception_handler(EventLogUnavailable)
    async def log_unavailable(request: Request, exc: EventLogUnavailable) -> JSONResponse:
        log.warning("event log unavailable", extra={"error": str(exc)})
        retry = (
            "retry with the same Idempotency-Key"
            if getattr(request.state, "idempotency_key", None)
            else "repeat the same command"
        )  # a merge is its own key: the duplicate's number
        return _error(
            503,
            "event_log_unavailable",
            f"the request could not be recorded right now; {retry}",
            request,
            **{"Retry-After": "5"},
        )

    @app.exception_handler(InvalidRequestNumbers)
    async def invalid_numbers(request: Request, exc: InvalidRequestNumbers) -> JSONResponse:
        where = {"number": ("path", "number"), "original": ("body", "original")}
        return _field_errors(
            [
                FieldError(where[f], "not a request number (XXXX-XXXX)", "invalid_request_number")
                for f in exc.fields
            ]
        )

    @app.exception_handler(MergeRejected)
    async def merge_rejected(request: Request, exc: MergeRejected) -> JSONResponse:
        if exc.problem is MergeProblem.unknown_duplicate:
            return _error(404, "not_found", str(exc), request)
        if exc.problem in (MergeProblem.already_merged, MergeProblem.merge_cycle):
            return _error(409, exc.problem.value, str(exc), request)
        return _field_errors([FieldError(("body", "original"), str(exc), exc.problem.value)])

    @app.exception_handler(CorrectionRejected)
    async def correction_rejected(request: Request, exc: CorrectionRejected) -> JSONResponse:
        # Without the Idempotency-Key: nothing was stored under it, and retrying will not change the answer.
        status, error = (
            (404, "not_found")
            if exc.problem is CorrectionProblem.unknown_request
            else (409, exc.problem.value)
        )
        return JSONResponse({"error": error, "detail": str(exc)}, status_code=status)

    @app.exception_handler(RequestNotFound)
    async def not_found(request: Request, exc: RequestNotFound) -> JSONResponse:
        return _error(404, "not_found", "no request matches this number and phone", request)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable", extra={"error": type(exc).__name__})
        return _error(
            503,
            "database_unavailable",
            "the service cannot reach its database; retry later",
            request,
            **{"Retry-After": "5"},
        )


# -- what leaves the process: access log lines and spans never carry a query string (track's holds a phone) -------


async def _log_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    if request.url.path not in ("/healthz", "/readyz", "/metrics"):
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    return response


def _drop_query_from_span(span: Span, scope: dict[str, Any]) -> None:
    if not span.is_recording() or not scope.get("query_string"):
        return
    attributes = getattr(span, "attributes", None) or {}
    for key in ("http.url", "url.full", "http.target"):
        if key in attributes:
            span.set_attribute(key, str(attributes[key]).split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "[redacted]")
