"""The HTTP app: intake's routes and error answers on the service skeleton (`civicloop_runtime.service_http`).

`create_app(settings, **adapters)`: adapters (and `start_consumers`) go to `bootstrap`, which opens the pool,
producer and consumers in the lifespan. `app_from_environment`: for
`uvicorn --factory civicloop_intake.entrypoints.http:app_from_environment`, the process set up too.
"""

from __future__ import annotations

import logging
from importlib.metadata import version
from typing import Any

import psycopg
from civicloop_runtime import process
from civicloop_runtime.service_http import ServiceHttp
from civicloop_staff.tokens import StaffTokenVerifier
from civicloop_staff.verifier import install_staff_verifier
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from civicloop_intake.bootstrap import bootstrap
from civicloop_intake.domain.corrections import CorrectionProblem, CorrectionRejected
from civicloop_intake.domain.merging import MergeProblem, MergeRejected
from civicloop_intake.domain.qr_codes import QR_PATH
from civicloop_intake.domain.submissions import IdempotencyKeyReused
from civicloop_intake.domain.validation import FieldError, InvalidSubmission
from civicloop_intake.domain.work_commands import WorkProblem, WorkRejected
from civicloop_intake.entrypoints.agent_routes import work_router
from civicloop_intake.entrypoints.cron_routes import router as cron_router
from civicloop_intake.entrypoints.pages_mount import (
    admin_router,
    console_router,
    install_pages,
    pages_path_limits,
    pages_router,
)
from civicloop_intake.entrypoints.qr_routes import poster_router, qr_router
from civicloop_intake.entrypoints.records_routes import records_router
from civicloop_intake.entrypoints.resident_routes import (
    install_resident_error_handlers,
    resident_path_limits,
    resident_router,
)
from civicloop_intake.entrypoints.routes import IDEMPOTENCY_HEADER, agent_router, router
from civicloop_intake.entrypoints.signin_routes import (
    SIGN_IN_PREFIX,
    auth_router,
    install_signin_errors,
    staff_router,
)
from civicloop_intake.entrypoints.sla_routes import install_sla_errors, sla_router
from civicloop_intake.service_layer.merge import InvalidRequestNumbers
from civicloop_intake.service_layer.ports import EventLogUnavailable
from civicloop_intake.service_layer.track import RequestNotFound, TooManyAttempts
from civicloop_intake.settings import IntakeSettings, staff_token_keys

SERVICE = "civicloop-intake"
log = logging.getLogger("civicloop.intake.http")


# -- errors ---------------------------------------------------------------------------------------------------------


def _field_errors(errors: list[FieldError]) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"type": e.type, "loc": list(e.loc), "msg": e.msg} for e in errors]}, status_code=422
    )


def _skeleton_error(request: Request, status: int, error: str, detail: str) -> Response:
    return _error(status, error, detail, request)


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

    # Staff commands (entrypoints.agent_routes): like a correction's, a refusal carries no Idempotency-Key.
    @app.exception_handler(WorkRejected)
    async def work_rejected(request: Request, exc: WorkRejected) -> JSONResponse:
        return JSONResponse(
            {"error": exc.problem.value, "detail": str(exc)}, status_code=_WORK_STATUS.get(exc.problem, 409)
        )

    @app.exception_handler(RequestNotFound)
    async def not_found(request: Request, exc: RequestNotFound) -> JSONResponse:
        return _error(404, "not_found", "no request matches this number and phone", request)

    @app.exception_handler(TooManyAttempts)
    async def too_many_attempts(request: Request, exc: TooManyAttempts) -> JSONResponse:
        return _error(429, "too_many_attempts", str(exc), request, **{"Retry-After": str(exc.retry_after_s)})

    install_resident_error_handlers(app)  # resident access: codes, sessions
    install_signin_errors(app, lambda status, error, detail, request: _error(status, error, detail, request))
    install_sla_errors(app, lambda status, error, detail, request: _error(status, error, detail, request))
    install_pages(app)  # the residents' pages' static files

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


_WORK_STATUS = {
    WorkProblem.unknown_request: 404,
    WorkProblem.unknown_visit: 404,
    **dict.fromkeys(
        (
            WorkProblem.unknown_reason,
            WorkProblem.referral_needed,
            WorkProblem.referral_not_expected,
            WorkProblem.unknown_template,
            WorkProblem.visit_in_the_past,
            WorkProblem.no_address,
            WorkProblem.unknown_category,
            WorkProblem.unknown_team,
            WorkProblem.unknown_staff,
        ),
        422,
    ),
}  # the rest (merged, closed, not_closed, not_open, no_change; and of an assignee: staff_disabled,
# staff_cannot_work, staff_not_in_team) are the state of the request or of the staff member: 409


HTTP = ServiceHttp(
    SERVICE,
    IntakeSettings,
    bootstrap,
    title="CivicLoop intake",
    version=version("civicloop-intake"),
    summary="Residents report problems and follow them.",
    routers=(
        router,
        agent_router,
        work_router,
        resident_router,
        auth_router,
        staff_router,
        sla_router,
        qr_router,
        poster_router,
        records_router,
        cron_router,
        pages_router,
        console_router,
        admin_router,
    ),
    render_error=_skeleton_error,
    install=_install_error_handlers,
    path_limits=lambda settings: {
        **resident_path_limits(settings),  # track and the code routes: tighter per-client limits
        SIGN_IN_PREFIX: settings.staff_sign_in_rate_limit_per_client,  # staff sign-in
        QR_PATH: settings.qr_rate_limit_per_client,  # public QR codes
        **pages_path_limits(settings),  # the track page's code forms, like the code routes
    },
)


def create_app(
    settings: IntakeSettings | None = None,
    *,
    staff_verifier: StaffTokenVerifier | None = None,
    **adapters: Any,
) -> FastAPI:
    """The app, with the staff token verifier installed: its key pair is made (or read) once, so the tokens this
    intake signs are the ones it verifies (`staff_verifier` replaces the verifier, for tests that mint their own)."""
    settings = settings or IntakeSettings()
    issuer, verifier = staff_token_keys(settings)
    adapters.setdefault("token_issuer", issuer)
    app = HTTP.create_app(settings, **adapters)
    install_staff_verifier(app, staff_verifier or verifier, render_error=_skeleton_error)
    return app


def app_from_environment() -> FastAPI:
    return process.app_from_environment(SERVICE, IntakeSettings, create_app)
