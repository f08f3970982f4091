"""Staff sign-in (email + password + TOTP, enrolment, password reset, OpenID Connect) and staff management (admin
only). Sign-in routes are anonymous and limited per client (`SIGN_IN_PREFIX`, entrypoints.http); every refusal of
a sign-in answers alike. Nothing here logs an email, a password, a code or a link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from civicloop_events.payloads.staff import DisableReason
from civicloop_staff.accounts import StaffChangeRejected, StaffProblem
from civicloop_staff.oidc import OidcError
from civicloop_staff.roles import MANAGES_STAFF, Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, require_staff
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from civicloop_intake.bootstrap import Intake, StaffServices
from civicloop_intake.entrypoints.routes import get_intake
from civicloop_intake.service_layer.staff_management import StaffNotFound
from civicloop_intake.service_layer.staff_oidc import NoProvider
from civicloop_intake.service_layer.staff_ports import EmailTaken
from civicloop_intake.service_layer.staff_reset import CurrentPasswordWrong, PasswordRefused, ResetLinkInvalid
from civicloop_intake.service_layer.staff_sign_in import SignInRefused, confirm_totp, sign_in

SIGN_IN_PREFIX = "/api/v1/staff/auth"  # anonymous: limited per client more tightly (entrypoints.http)

_MALFORMED: dict[int | str, dict[str, Any]] = {400: {"description": "the body is not readable JSON"}}
auth_router = APIRouter(prefix=SIGN_IN_PREFIX, tags=["staff sign-in"], responses=_MALFORMED)
staff_router = APIRouter(
    prefix="/api/v1/staff",
    tags=["staff management"],
    responses={
        **_MALFORMED,
        **STAFF_RESPONSES,
        404: {"description": "no such staff account in your jurisdiction (or not recorded yet)"},
        409: {
            "description": "the account rules refuse the change (email taken, unknown team, your own account)"
        },
    },
)

Admin = Annotated[StaffPrincipal, Depends(require_staff(*MANAGES_STAFF))]
AnyStaff = Annotated[StaffPrincipal, Depends(require_staff())]


def _now() -> datetime:
    return datetime.now(UTC)


async def get_staff(request: Request) -> StaffServices:
    intake: Intake = await get_intake(request)
    if intake.staff is None:
        raise RuntimeError("staff sign-in needs intake's database")
    return intake.staff


Staff = Annotated[StaffServices, Depends(get_staff)]


# -- shapes -----------------------------------------------------------------------------------------------------------


class SignInBody(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(default=None, max_length=32, description="a TOTP code, or a recovery code")


class TokenRead(BaseModel):
    status: str = "signed_in"
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int


class EnrolmentRead(BaseModel):
    """Shown once: scan the QR (or type the URI), write the recovery codes down, confirm with a first code."""

    status: str = "totp_enrolment_needed"
    ticket: str
    otpauth_uri: str
    qr_svg: str
    recovery_codes: list[str]
    expires_in: int


class NextStepRead(BaseModel):
    status: str = "second_factor_needed"


class ConfirmTotpBody(BaseModel):
    ticket: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=16)


class ResetRequestBody(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class ResetCompleteBody(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=1024)


class TeamBody(BaseModel):
    team_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    active: bool = True


class CreateStaffBody(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str | None = Field(default=None, max_length=200)
    roles: list[Role] = Field(min_length=1)
    teams: list[str] = Field(default_factory=list)
    send_invitation: bool = Field(default=True, description="email a link to set the first password")


class ChangePasswordBody(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class RolesBody(BaseModel):
    roles: list[Role] = Field(min_length=1)


class TeamsBody(BaseModel):
    teams: list[str]


class DisableBody(BaseModel):
    reason: DisableReason


class StaffRead(BaseModel):
    staff_id: UUID
    jurisdiction_id: str
    roles: list[Role]
    teams: list[str]
    disabled: DisableReason | None = None


class ChangedRead(BaseModel):
    changed: bool = Field(description="false when the account already was so (no event)")


class MeRead(BaseModel):
    staff_id: UUID
    jurisdiction_id: str
    roles: list[Role]
    teams: list[str]
    methods: list[str]


# -- signing in -------------------------------------------------------------------------------------------------------

_REFUSED: dict[int | str, dict[str, Any]] = {401: {"description": "sign-in refused (any reason, alike)"}}


@auth_router.post("/sign-in", response_model=TokenRead | EnrolmentRead | NextStepRead, responses=_REFUSED)
async def sign_in_route(body: SignInBody, staff: Staff) -> TokenRead | EnrolmentRead | NextStepRead:
    """Email and password, with a TOTP (or recovery) code once enrolled. Answers a token, a request for the code,
    or, for an account without TOTP yet, its enrolment (then `totp/confirm`)."""
    answer = await sign_in(
        staff.sign_in, email=body.email, password=body.password, code=body.code, now=_now()
    )
    if answer.token is not None:
        return TokenRead(access_token=answer.token.access_token, expires_in=answer.token.expires_in)
    if answer.enrolment is not None:
        e = answer.enrolment
        return EnrolmentRead(
            ticket=e.ticket,
            otpauth_uri=e.otpauth_uri,
            qr_svg=e.qr_svg,
            recovery_codes=list(e.recovery_codes),
            expires_in=e.expires_in,
        )
    return NextStepRead()


@auth_router.post("/totp/confirm", response_model=TokenRead, responses=_REFUSED)
async def confirm_totp_route(body: ConfirmTotpBody, staff: Staff) -> TokenRead:
    """The first code of the newly enrolled app: TOTP takes effect and the staff member is signed in."""
    token = await confirm_totp(staff.sign_in, ticket=body.ticket, code=body.code, now=_now())
    return TokenRead(access_token=token.access_token, expires_in=token.expires_in)


@auth_router.post(
    "/password-reset",
    status_code=202,
    response_class=Response,  # an empty answer: no JSON body is promised
    responses={202: {"description": "accepted; a link is emailed if the address has an account"}},
)
async def request_reset(body: ResetRequestBody, staff: Staff) -> Response:
    """Email a one-time link to set a new password, if the email has an account: the answer is the same either way."""
    await staff.reset.request(body.email, now=_now())
    return Response(status_code=202)


@auth_router.post(
    "/password-reset/complete",
    status_code=204,
    responses={
        400: {
            "description": "the link is not valid (unknown, used, expired or superseded), or the password refused"
        }
    },
)
async def complete_reset(body: ResetCompleteBody, staff: Staff) -> Response:
    """The token from the link's fragment and the new password (12 to 128 characters)."""
    await staff.reset.complete(body.token, body.new_password, now=_now())
    return Response(status_code=204)


@auth_router.get(
    "/oidc/{jurisdiction_id}/start",
    status_code=302,
    responses={302: {"description": "to the identity provider"}, 404: {"description": "no provider"}},
)
async def oidc_start(jurisdiction_id: str, staff: Staff) -> RedirectResponse:
    """Single sign-on: sends the browser to the jurisdiction's identity provider."""
    url = await staff.sso.start(jurisdiction_id, now=_now())
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@auth_router.get("/oidc/callback", response_model=TokenRead, responses=_REFUSED)
async def oidc_callback(request: Request, staff: Staff) -> TokenRead:
    """Where the provider sends the browser back (`code`, `state`, `iss`)."""
    token = await staff.sso.callback(dict(request.query_params), now=_now())
    return TokenRead(access_token=token.access_token, expires_in=token.expires_in)


# -- who am I, and managing staff (admins) ------------------------------------------------------------------------------


@staff_router.get("/me", response_model=MeRead)
async def me(principal: AnyStaff) -> MeRead:
    """The signed-in staff member, as their token says."""
    return MeRead(
        staff_id=principal.staff_id,
        jurisdiction_id=principal.jurisdiction_id,
        roles=sorted(principal.roles, key=list(Role).index),
        teams=sorted(principal.teams),
        methods=list(principal.methods),
    )


@staff_router.post(
    "/me/password",
    status_code=204,
    responses={400: {"description": "the current password is wrong, or the new one refused"}},
)
async def change_password(body: ChangePasswordBody, principal: AnyStaff, staff: Staff) -> Response:
    """A new password for the signed-in staff member (`staff.password.set`, `via: change`)."""
    await staff.reset.change(principal, body.current_password, body.new_password, now=_now())
    return Response(status_code=204)


@staff_router.post("/teams", status_code=204)
async def define_team(body: TeamBody, admin: Admin, staff: Staff) -> Response:
    """Create or rename a team of the admin's jurisdiction (`jurisdiction.team.defined`)."""
    await staff.admin.define_team(
        body.team_id, body.name, jurisdiction_id=admin.jurisdiction_id, by=admin, active=body.active
    )
    return Response(status_code=204)


@staff_router.post("/accounts", status_code=201, response_model=StaffRead)
async def create_account(body: CreateStaffBody, admin: Admin, staff: Staff) -> StaffRead:
    """A new account in the admin's jurisdiction (`staff.created`); its owner gets a link to set a password."""
    staff_id = await staff.admin.create(
        email=body.email,
        name=body.name,
        roles=body.roles,
        teams=body.teams,
        jurisdiction_id=admin.jurisdiction_id,
        by=admin,
    )
    if body.send_invitation:
        await staff.reset.invite(staff_id, body.email, now=_now())
    return StaffRead(
        staff_id=staff_id,
        jurisdiction_id=admin.jurisdiction_id,
        roles=body.roles,
        teams=sorted(set(body.teams)),
    )


@staff_router.get("/accounts/{staff_id}", response_model=StaffRead)
async def read_account(staff_id: UUID, admin: Admin, staff: Staff) -> StaffRead:
    row = await staff.admin.read(staff_id, by=admin)
    return StaffRead(
        staff_id=staff_id,
        jurisdiction_id=row.jurisdiction_id,
        roles=list(row.account.roles),
        teams=list(row.account.teams),
        disabled=row.account.disabled,
    )


@staff_router.put("/accounts/{staff_id}/roles", response_model=ChangedRead)
async def put_roles(staff_id: UUID, body: RolesBody, admin: Admin, staff: Staff) -> ChangedRead:
    return ChangedRead(changed=await staff.admin.change_roles(staff_id, body.roles, by=admin))


@staff_router.put("/accounts/{staff_id}/teams", response_model=ChangedRead)
async def put_teams(staff_id: UUID, body: TeamsBody, admin: Admin, staff: Staff) -> ChangedRead:
    return ChangedRead(changed=await staff.admin.change_teams(staff_id, body.teams, by=admin))


@staff_router.post("/accounts/{staff_id}/disable", response_model=ChangedRead)
async def disable_account(staff_id: UUID, body: DisableBody, admin: Admin, staff: Staff) -> ChangedRead:
    return ChangedRead(changed=await staff.admin.disable(staff_id, body.reason, by=admin))


@staff_router.post("/accounts/{staff_id}/enable", response_model=ChangedRead)
async def enable_account(staff_id: UUID, admin: Admin, staff: Staff) -> ChangedRead:
    return ChangedRead(changed=await staff.admin.enable(staff_id, by=admin))


# -- errors -----------------------------------------------------------------------------------------------------------

ErrorFn = Callable[[int, str, str, Request], JSONResponse]


def install_signin_errors(app: FastAPI, error: ErrorFn) -> None:
    @app.exception_handler(SignInRefused)
    async def refused(request: Request, exc: SignInRefused) -> JSONResponse:
        return error(
            401,
            "sign_in_refused",
            "the email, password or code is not right, or the account cannot sign in now",
            request,
        )

    @app.exception_handler(ResetLinkInvalid)
    async def reset_invalid(request: Request, exc: ResetLinkInvalid) -> JSONResponse:
        return error(
            400,
            "reset_link_invalid",
            "this link cannot set a password (used, expired or unknown); ask for a new one",
            request,
        )

    @app.exception_handler(PasswordRefused)
    async def password_refused(request: Request, exc: PasswordRefused) -> JSONResponse:
        return error(400, "password_refused", f"choose another password: {exc}", request)

    @app.exception_handler(CurrentPasswordWrong)
    async def current_wrong(request: Request, exc: CurrentPasswordWrong) -> JSONResponse:
        return error(400, "current_password_wrong", "the current password is not right", request)

    @app.exception_handler(StaffChangeRejected)
    async def change_rejected(request: Request, exc: StaffChangeRejected) -> JSONResponse:
        # The rules' refusals are 409 (the account or jurisdiction as it stands forbids it); 422 is the body's shape.
        status = 403 if exc.problem is StaffProblem.not_allowed else 409
        return error(status, exc.problem.value, str(exc), request)

    @app.exception_handler(StaffNotFound)
    async def staff_not_found(request: Request, exc: StaffNotFound) -> JSONResponse:
        return error(404, "not_found", "no such staff account in your jurisdiction", request)

    @app.exception_handler(EmailTaken)
    async def email_taken(request: Request, exc: EmailTaken) -> JSONResponse:
        return error(409, "email_taken", "another staff account signs in with this email", request)

    @app.exception_handler(NoProvider)
    async def no_provider(request: Request, exc: NoProvider) -> JSONResponse:
        return error(404, "not_found", "this jurisdiction has no single sign-on", request)

    @app.exception_handler(OidcError)
    async def provider_down(request: Request, exc: OidcError) -> JSONResponse:
        return error(
            503,
            "identity_provider_unavailable",
            "the identity provider cannot be reached; retry later",
            request,
        )
