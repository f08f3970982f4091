"""Staff and roles: the jurisdiction's accounts and teams, and each change passed on to intake's staff API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID

import httpx
from civicloop_events.payloads.staff import DisableReason
from civicloop_staff.roles import Role
from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from civicloop_intake.adapters import staff_directory as directory
from civicloop_intake.admin_pages.common import (
    ADMIN_PATH,
    AdminPost,
    Language,
    _admin,
    _call_intake,
    _chosen,
    _field,
    _render,
    admin_router,
    posted_by_admin,
)
from civicloop_intake.console.actions import refusal_text
from civicloop_intake.console.routes import (
    SignedIn,
    _html,
    _intake,
    _language,
    _link,
    _not_signed_in,
)

STAFF_PAGE = f"{ADMIN_PATH}/staff"
ROLES = tuple(role.value for role in Role)
DISABLE_REASONS = tuple(reason.value for reason in DisableReason)
STAFF_DONE = ("created", "team", "roles", "teams", "disabled", "enabled")
# Read as text and checked after the session: a stranger is sent to sign in whatever the path says.
StaffId = Annotated[
    str, PathParam(max_length=36, pattern=r"^[0-9A-Za-z-]+$", description="the staff account")
]
CHANGES = {"roles": "roles", "teams": "teams", "disable": "disabled", "enable": "enabled"}

_CHANGE_ANSWERS = _html(
    s303="done: to the staff page (or, not signed in, to sign-in)",
    s403="the form's CSRF token does not match, or the staff member is not an admin",
    s404="no such staff account in the admin's jurisdiction",
    s409="refused by the account rules: the page again, with why",
    s502="the change could not be recorded now: the page again, to retry",
)


async def _call_api(request: Request, signed: SignedIn, method: str, path: str, body: Any) -> httpx.Response:
    """Intake's staff management API (`/api/v1/staff...`)."""
    return await _call_intake(request, signed, method, f"/api/v1/staff{path}", body)


# -- staff and roles --------------------------------------------------------------------------------------------------


async def _staff_page(
    request: Request,
    signed: SignedIn,
    language: str,
    *,
    done: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
    typed: Mapping[str, Any] | None = None,
) -> Response:
    intake = _intake(request)
    if intake.pool is None or intake.staff is None:
        raise RuntimeError("the admin pages need intake's database")
    jurisdiction = signed.staff.jurisdiction_id
    teams = await directory.teams(intake.pool, jurisdiction)
    return _render(
        request,
        "admin_staff.html",
        language,
        status_code=status_code,
        signed=signed,
        section="staff",
        accounts=await directory.accounts(intake.pool, intake.staff.store, jurisdiction),
        teams=teams,
        team_names={team.team_id: team.name for team in teams},
        roles=ROLES,
        disable_reasons=DISABLE_REASONS,
        done=done if done in STAFF_DONE else None,
        problem=problem,
        typed=typed or {},
    )


async def _after(
    request: Request,
    signed: SignedIn,
    language: str,
    answer: httpx.Response,
    done: str,
    typed: Mapping[str, Any],
) -> Response:
    """Back to the staff page: with `done` when the API accepted, else with its refusal (and what was typed)."""
    if answer.status_code == 401:
        return _not_signed_in(request, language)
    if answer.status_code < 300:
        return RedirectResponse(_link(STAFF_PAGE, language, done=done), status_code=303)
    try:
        body = answer.json()
    except ValueError:
        body = None
    return await _staff_page(
        request,
        signed,
        language,
        problem=refusal_text(answer.status_code, body),
        status_code=answer.status_code if 400 <= answer.status_code < 500 else 502,
        typed=typed,
    )


@admin_router.get(
    "",
    status_code=303,
    response_class=Response,
    responses=_html(
        s303="to the staff page (or, not signed in, to sign-in)", s403="the staff member is not an admin"
    ),
)
async def admin_home(request: Request, lang: Language = None) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return RedirectResponse(_link(STAFF_PAGE, language), status_code=303)


@admin_router.get(
    "/staff",
    response_class=Response,
    responses=_html(
        s200="the jurisdiction's staff accounts and teams, with a form for each change",
        s303="not signed in: to sign-in",
        s403="the staff member is not an admin",
    ),
)
async def staff_page(
    request: Request,
    lang: Language = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return await _staff_page(request, signed, language, done=done)


@admin_router.post("/staff/accounts", response_class=Response, responses=_CHANGE_ANSWERS)
async def create_account(request: Request, lang: Language = None) -> Response:
    """A new account (`staff.created`); its owner is sent the link that sets a first password when asked."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    signed, language, form = posted.signed, posted.language, posted.form
    typed = {
        "email": _field(form, "email", 320),
        "name": _field(form, "name", 200),
        "roles": _chosen(form, "roles", ROLES),
        "teams": _chosen(form, "teams"),
    }
    body = {
        **typed,
        "name": typed["name"] or None,
        "send_invitation": _field(form, "send_invitation") == "yes",
    }
    answer = await _call_api(request, signed, "POST", "/accounts", body)
    return await _after(request, signed, language, answer, "created", typed)


@admin_router.post("/staff/teams", response_class=Response, responses=_CHANGE_ANSWERS)
async def define_team(request: Request, lang: Language = None) -> Response:
    """A team defined or renamed (`jurisdiction.team.defined`)."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    signed, language, form = posted.signed, posted.language, posted.form
    typed = {"team_id": _field(form, "team_id", 64), "team_name": _field(form, "team_name", 200)}
    body = {"team_id": typed["team_id"], "name": typed["team_name"], "active": True}
    answer = await _call_api(request, signed, "POST", "/teams", body)
    return await _after(request, signed, language, answer, "team", typed)


@admin_router.post("/staff/accounts/{staff_id}/{change}", response_class=Response, responses=_CHANGE_ANSWERS)
async def change_account(
    request: Request,
    staff_id: StaffId,
    change: Annotated[str, PathParam(max_length=20, description="roles, teams, disable or enable")],
    lang: Language = None,
) -> Response:
    """An account's roles or teams replaced, or the account disabled (with a reason) or enabled."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    signed, language, form = posted.signed, posted.language, posted.form
    try:
        account = UUID(staff_id)
    except ValueError:
        account = None
    if account is None or change not in CHANGES:
        return Response("no such account or change", status_code=404, media_type="text/html")
    path = f"/accounts/{account}/{change}"
    if change == "roles":
        answer = await _call_api(request, signed, "PUT", path, {"roles": _chosen(form, "roles", ROLES)})
    elif change == "teams":
        answer = await _call_api(request, signed, "PUT", path, {"teams": _chosen(form, "teams")})
    elif change == "disable":
        answer = await _call_api(request, signed, "POST", path, {"reason": _field(form, "reason", 20)})
    else:
        answer = await _call_api(request, signed, "POST", path, None)
    return await _after(request, signed, language, answer, CHANGES[change], {})
