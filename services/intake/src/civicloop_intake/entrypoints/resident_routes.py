"""Residents reach their own requests: track by number and phone (in a POST body, never in the URL), or sign in with
a one-time code sent to the contact on file and list them all.

Every route here that answers anonymous callers carries a per-client rate limit of its own (`path_limits`, beside
the general one), and per-number or per-contact limits counted in PostgreSQL for every replica.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from civicloop_intake.domain.code_texts import code_language
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.domain.tracking import HistoryEntry
from civicloop_intake.entrypoints.models import (
    ErrorRead,
    ExternalReferenceRead,
    HistoryEntryRead,
    MalformedBodyRead,
    OriginalRead,
    PlaceAreaRead,
    TrackRead,
    ValidationErrorRead,
)
from civicloop_intake.entrypoints.routes import TRACK_PATH, AfterPosition, IntakeDep
from civicloop_intake.service_layer.resident_access import (
    CodesUnavailable,
    InvalidCode,
    InvalidResidentContact,
    NotSignedIn,
    ResidentAccess,
    TooManyCodeAttempts,
)
from civicloop_intake.service_layer.track import TrackedRequestView
from civicloop_intake.settings import IntakeSettings

RESIDENTS_PATH = "/api/v1/residents"
CODES_PATH = RESIDENTS_PATH + "/codes"
SESSIONS_PATH = RESIDENTS_PATH + "/sessions"

resident_router = APIRouter(prefix="/api/v1", tags=["residents"])
_bearer = HTTPBearer(
    auto_error=False, scheme_name="resident session", description="a resident's session token"
)


def resident_path_limits(settings: IntakeSettings) -> dict[str, str]:
    """The anonymous resident routes' own per-client limits (track's, and the code routes')."""
    return {
        TRACK_PATH: settings.track_rate_limit_per_client,
        CODES_PATH: settings.resident_rate_limit_per_client,
        SESSIONS_PATH: settings.resident_rate_limit_per_client,
    }


# -- shapes ---------------------------------------------------------------------------------------------------------


class TrackQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=32, description="the request number, e.g. 7K3D-Q9XA")
    phone: str = Field(min_length=1, max_length=32, description="the phone given with the request")


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: str = Field(
        min_length=3, max_length=254, description="the e-mail address or phone number given with a request"
    )
    language: str | None = Field(
        default=None,
        max_length=35,
        pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$",
        description="the language to write the code's message in (BCP 47, e.g. `es`); without it, the "
        "`Accept-Language` header's; English when neither is one we write (English, Spanish)",
    )


class CodeRequested(BaseModel):
    detail: str = "if this contact is on file, a code is on its way"
    expires_in_s: int = Field(description="how long a code sent now may be used")


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: str = Field(min_length=3, max_length=254, description="the contact the code was sent to")
    code: str = Field(min_length=1, max_length=16, description="the code received")


class SessionRead(BaseModel):
    access_token: str = Field(description="send as `Authorization: Bearer <token>`; never put it in a URL")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_at: datetime


class ResidentRequestRead(BaseModel):
    request_number: str
    service_code: str
    service_name: str | None
    status: str = Field(
        description="the request's own status (a merged one: see its view for the original's)"
    )
    submitted_at: datetime
    updated_at: datetime
    merged_into: str | None
    address: str | None


class ResidentRequestsRead(BaseModel):
    requests: list[ResidentRequestRead] = Field(description="the latest submitted first")


# -- dependencies ---------------------------------------------------------------------------------------------------


def _residents(intake: Any) -> ResidentAccess:
    if intake.residents is None:
        raise CodesUnavailable
    residents: ResidentAccess = intake.residents
    return residents


async def _token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise NotSignedIn
    return credentials.credentials


SessionToken = Annotated[str, Depends(_token)]
_NOT_SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead, "description": "no live session: sign in with a code"}
}
_TOO_MANY = {"model": ErrorRead, "description": "too many attempts for this contact or from this client"}


# -- routes ---------------------------------------------------------------------------------------------------------

_MALFORMED: dict[str, Any] = {"model": MalformedBodyRead, "description": "the body is not readable JSON"}


@resident_router.post(
    "/track",
    response_model=TrackRead,
    responses={
        400: _MALFORMED,
        404: {"model": ErrorRead, "description": "no request matches this number and phone"},
        422: {"model": ValidationErrorRead, "description": "the body is not `{number, phone}`"},
        429: {
            "model": ErrorRead,
            "description": "too_many_attempts: this number was tracked with too many wrong phones (whoever asked), "
            "or too_many_requests: this client tracked too often; Retry-After says when to try again",
        },
    },
)
async def track(
    body: TrackQuery, response: Response, intake: IntakeDep, after: AfterPosition = None
) -> TrackRead:
    """Follow a request: its status and public history, for whoever knows its number and phone. The phone travels
    in the body, so no URL, access log or browser history holds it."""
    view = await intake.track(
        number=body.number, phone=body.phone, after=LogPosition.parse(after) if after else None
    )
    response.headers["Cache-Control"] = "no-store"
    return track_read(view)


@resident_router.post(
    "/residents/codes",
    status_code=202,
    response_model=CodeRequested,
    responses={
        400: _MALFORMED,
        422: {"model": ValidationErrorRead, "description": "neither an e-mail address nor a phone number"},
        429: _TOO_MANY,
        503: {
            "model": ErrorRead,
            "description": "codes to this kind of contact (a phone, an e-mail address) cannot be delivered in this "
            "deployment",
        },
    },
)
async def request_code(
    body: CodeRequest,
    intake: IntakeDep,
    accept_language: Annotated[str | None, Header(max_length=512)] = None,
) -> CodeRequested:
    """Ask for a one-time code at the e-mail address or phone given with a request: it goes by SMS to a phone, by
    email to an address, in the resident's language. The answer is the same, at the same moment, whether or not the
    contact is on file."""
    residents = _residents(intake)
    await residents.send_code(body.contact, language=code_language(body.language, accept_language))
    return CodeRequested(expires_in_s=int(residents.code_ttl.total_seconds()))


@resident_router.post(
    "/residents/sessions",
    status_code=201,
    response_model=SessionRead,
    responses={
        400: _MALFORMED,
        401: {"model": ErrorRead, "description": "invalid_code: no valid code for this contact matches"},
        429: _TOO_MANY,
    },
)
async def open_session(body: SessionRequest, response: Response, intake: IntakeDep) -> SessionRead:
    """Exchange a code (used once) for a session token that opens the resident's own requests."""
    opened = await _residents(intake).open_session(body.contact, body.code)
    response.headers["Cache-Control"] = "no-store"
    return SessionRead(access_token=opened.token, expires_at=opened.expires_at)


@resident_router.delete("/residents/sessions/current", status_code=204, responses=_NOT_SIGNED_IN)
async def close_session(token: SessionToken, intake: IntakeDep) -> Response:
    """Sign out: the token stops working at once."""
    await _residents(intake).close_session(token)
    return Response(status_code=204)


@resident_router.get("/residents/me/requests", response_model=ResidentRequestsRead, responses=_NOT_SIGNED_IN)
async def my_requests(token: SessionToken, response: Response, intake: IntakeDep) -> ResidentRequestsRead:
    """The signed-in resident's requests (every one made with this contact, or another contact of theirs)."""
    found = await _residents(intake).list_requests(token)
    response.headers["Cache-Control"] = "no-store"
    return ResidentRequestsRead(
        requests=[
            ResidentRequestRead(
                request_number=s.request.request_number,
                service_code=s.request.service_code,
                service_name=s.service_name,
                status=s.request.status.value,
                submitted_at=s.request.submitted_at,
                updated_at=s.request.updated_at,
                merged_into=s.request.merged_into,
                address=s.request.public_address,
            )
            for s in found
        ]
    )


@resident_router.get(
    "/residents/me/requests/{number}",
    response_model=TrackRead,
    responses={
        **_NOT_SIGNED_IN,
        404: {"model": ErrorRead, "description": "not one of this resident's requests"},
    },
)
async def my_request(
    token: SessionToken,
    response: Response,
    intake: IntakeDep,
    number: Annotated[str, Path(min_length=1, max_length=32, description="the request number")],
) -> TrackRead:
    """One of the signed-in resident's requests, as track shows it."""
    view = await _residents(intake).get_request(token, number)
    response.headers["Cache-Control"] = "no-store"
    return track_read(view)


# -- answers --------------------------------------------------------------------------------------------------------


def track_read(view: TrackedRequestView) -> TrackRead:
    r, o = view.request, view.original
    return TrackRead(
        request_number=r.request_number,
        service_code=r.service_code,
        service_name=view.service_name,
        status=o.status if o else r.status,
        description=r.description,
        submitted_at=r.submitted_at,
        updated_at=r.updated_at,
        history=_history(r.history),
        external_references=[
            ExternalReferenceRead(body_id=x.body_id, external_id=x.external_id) for x in r.external_references
        ],
        merged_into=r.merged_into,
        original=None
        if o is None
        else OriginalRead(
            request_number=o.request_number,
            service_name=view.original_service_name,
            status=o.status,
            updated_at=o.updated_at,
            history=_history(o.history),
        ),
        address=r.public_address,
        service_areas=[PlaceAreaRead(kind=a.kind, name=a.name) for a in r.service_areas],
    )


def _history(entries: tuple[HistoryEntry, ...]) -> list[HistoryEntryRead]:
    return [
        HistoryEntryRead(
            kind=e.kind,
            at=e.at,
            status=e.status,
            note=e.note,
            text=e.text,
            body_id=e.body_id,
            external_id=e.external_id,
            referred_to=e.referred_to,
            starts_at=e.starts_at,
            duration_minutes=e.duration_minutes,
            address=e.address,
        )
        for e in entries
    ]


def install_resident_error_handlers(app: FastAPI) -> None:
    """The resident routes' refusals, in intake's error format."""

    def error(status: int, code: str, detail: str, **headers: str) -> JSONResponse:
        return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(InvalidResidentContact)
    async def invalid_contact(request: Request, exc: InvalidResidentContact) -> JSONResponse:
        problem = {
            "type": "invalid_contact",
            "loc": ["body", "contact"],
            "msg": "an e-mail address or a phone",
        }
        return JSONResponse({"detail": [problem]}, status_code=422)

    @app.exception_handler(InvalidCode)
    async def invalid_code(request: Request, exc: InvalidCode) -> JSONResponse:
        return error(401, "invalid_code", "no valid code for this contact matches; ask for a new one")

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> JSONResponse:
        return error(401, "not_signed_in", "sign in with a code first", **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler(TooManyCodeAttempts)
    async def too_many(request: Request, exc: TooManyCodeAttempts) -> JSONResponse:
        return error(429, "too_many_attempts", str(exc), **{"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(CodesUnavailable)
    async def unavailable(request: Request, exc: CodesUnavailable) -> JSONResponse:
        return error(
            503, "codes_unavailable", "codes to this kind of contact cannot be delivered in this deployment"
        )
