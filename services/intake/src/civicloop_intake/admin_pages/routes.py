"""The admin's pages in the console, at `/console/admin/...`: staff and roles (accounts, their roles and teams,
disable and enable, the jurisdiction's teams), selfheal (run now, the latest runs), posters (the builder over
intake's poster routes, and the reports each link source brought) bodies (what is queued, pause, resume) and the
catalogue (the gateway's services: list, define, withdraw). They use the console's sign-in, session and CSRF token, and are
admitted to the `admin` role alone (a 403 page to anyone else signed in).

Every change is a form posted here and passed on in-process to intake's staff management API
(`/api/v1/staff/...`) with the admin's own token: the API's rules, events and refusals, unchanged. What the staff
page lists is intake's own fold of `jurisdiction.config` (`admin_pages.directory`); selfheal is asked over HTTP
with the admin's own token (`admin_pages.selfheal`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import httpx
from civicloop_events.payloads.staff import DisableReason
from civicloop_staff.roles import MANAGES_STAFF, Role
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from civicloop_intake.admin_pages import catalogue, directory, outbound, selfheal
from civicloop_intake.admin_pages.texts import admin_texts
from civicloop_intake.console.actions import refusal_text
from civicloop_intake.console.routes import (
    CONSOLE_PATH,
    STATIC_PATH,
    SignedIn,
    _html,
    _intake,
    _language,
    _link,
    _not_signed_in,
    _signed_in,
)
from civicloop_intake.console.routes import HERE as CONSOLE_HERE
from civicloop_intake.console.texts import console_texts
from civicloop_intake.console.upstream import SignedOut, Unavailable
from civicloop_intake.domain.posters import PosterKind
from civicloop_intake.pages.rendering import page, templates

HERE = Path(__file__).parent
ADMIN_PATH = f"{CONSOLE_PATH}/admin"
STAFF_PAGE = f"{ADMIN_PATH}/staff"
ADMIN_STATIC_DIR = HERE / "static"
ADMIN_STATIC_PATH = "/static/admin"
ROLES = tuple(role.value for role in Role)
DISABLE_REASONS = tuple(reason.value for reason in DisableReason)
STAFF_DONE = ("created", "team", "roles", "teams", "disabled", "enabled")

admin_router = APIRouter(prefix=ADMIN_PATH, tags=["admin pages"])
_templates = templates(HERE / "templates", CONSOLE_HERE / "templates")

Language = Annotated[str | None, Query(alias="lang", max_length=35)]
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


def _render(
    request: Request, template: str, language: str, *, status_code: int = 200, **context: Any
) -> Response:
    return page(
        template,
        language=language,
        here=request.url.path,
        environment=_templates,
        no_store=True,  # staff accounts and forms with CSRF tokens: never kept by a cache
        status_code=status_code,
        c=console_texts(language),
        a=admin_texts(language),
        console_static=STATIC_PATH,
        admin_static=ADMIN_STATIC_PATH,
        **context,
    )


async def _admin(request: Request, language: str) -> SignedIn | Response:
    """The signed-in admin, or the answer for anyone else: to sign-in, or the 403 page."""
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    if not signed.staff.has_any(frozenset(MANAGES_STAFF)):
        return _render(request, "forbidden.html", language, status_code=403, signed=signed)
    return signed


def _csrf_refused() -> Response:
    return Response("the form's CSRF token does not match", status_code=403, media_type="text/html")


async def _call_intake(
    request: Request, signed: SignedIn, method: str, path: str, body: Any = None, params: Any = None
) -> httpx.Response:
    """Intake's own API, in-process, as the admin (their token, their client address)."""
    client_host = request.client.host if request.client else "127.0.0.1"
    transport = httpx.ASGITransport(app=request.app, client=(client_host, 0))
    headers = {"Authorization": f"Bearer {signed.session.access_token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=60) as client:
        return await client.request(method, path, json=body, params=params, headers=headers)


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


def _chosen(form: FormData, name: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    values = [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]
    return [v for v in values if allowed is None or v in allowed][:50]


def _field(form: FormData, name: str, limit: int = 400) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


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
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
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
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
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
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
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


# -- selfheal ---------------------------------------------------------------------------------------------------------

SELFHEAL_PAGE = f"{ADMIN_PATH}/selfheal"


async def _selfheal_page(
    request: Request,
    signed: SignedIn,
    language: str,
    *,
    report: Mapping[str, Any] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = _intake(request).settings
    base = settings.admin_selfheal_url
    runs: list[dict[str, Any]] = []
    if base and problem != "selfheal_unavailable":
        try:
            runs = await selfheal.latest_runs(
                base, signed.session.access_token, settings.console_upstream_timeout_s
            )
        except SignedOut:
            return _not_signed_in(request, language)
        except Unavailable:
            problem, status_code = (
                problem or "selfheal_unavailable",
                503 if status_code == 200 else status_code,
            )
    return _render(
        request,
        "admin_selfheal.html",
        language,
        status_code=status_code,
        signed=signed,
        section="selfheal",
        configured=bool(base),
        token_configured=selfheal.cron_token_configured(),
        report=report,
        report_found=selfheal.counted(report.get("found")) if report else [],
        report_done=selfheal.counted(report.get("done")) if report else [],
        runs=[
            {**run, "found": selfheal.counted(run.get("found")), "done": selfheal.counted(run.get("done"))}
            for run in runs
        ],
        problem=problem,
    )


@admin_router.get(
    "/selfheal",
    response_class=Response,
    responses=_html(
        s200="run now, the latest runs, whether the cron token is set",
        s303="not signed in: to sign-in",
        s403="the staff member is not an admin",
        s503="selfheal cannot be reached: the page says so",
    ),
)
async def selfheal_page(request: Request, lang: Language = None) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return await _selfheal_page(request, signed, language)


@admin_router.post(
    "/selfheal/run",
    response_class=Response,
    responses=_html(
        s200="the sweep ran: what it found and did",
        s303="not signed in: to sign-in",
        s403="the form's CSRF token does not match, or the staff member is not an admin",
        s409="a sweep is running already: nothing was started",
        s503="selfheal cannot be reached: the page says so",
    ),
)
async def selfheal_run(request: Request, lang: Language = None) -> Response:
    """One sweep now, asked of selfheal with the admin's own token (recorded there as an admin's run)."""
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
    settings = _intake(request).settings
    try:
        report = await selfheal.run_now(
            settings.admin_selfheal_url, signed.session.access_token, settings.admin_selfheal_timeout_s
        )
    except SignedOut:
        return _not_signed_in(request, language)
    except selfheal.Busy:
        return await _selfheal_page(request, signed, language, problem="selfheal_busy", status_code=409)
    except Unavailable:
        return await _selfheal_page(
            request, signed, language, problem="selfheal_unavailable", status_code=503
        )
    return await _selfheal_page(request, signed, language, report=report)


# -- posters ----------------------------------------------------------------------------------------------------------

POSTER_KINDS = tuple(kind.value for kind in PosterKind)
POSTER_FIELDS = ("poster_id", "kind", "title", "address", "lat", "lng")


async def _posters_page(
    request: Request,
    signed: SignedIn,
    language: str,
    *,
    problem: str | None = None,
    status_code: int = 200,
    typed: Mapping[str, Any] | None = None,
) -> Response:
    answer = await _call_intake(request, signed, "GET", "/api/v1/admin/report-sources")
    if answer.status_code == 401:
        return _not_signed_in(request, language)
    sources = answer.json()["sources"] if answer.status_code == 200 else None
    return _render(
        request,
        "admin_posters.html",
        language,
        status_code=status_code,
        signed=signed,
        section="posters",
        kinds=POSTER_KINDS,
        sources=sources,
        problem=problem,
        typed=typed or {"kind": "spot", "format": "pdf"},
    )


@admin_router.get(
    "/posters",
    response_class=Response,
    responses=_html(
        s200="the poster builder and the reports each link source brought",
        s303="not signed in: to sign-in",
        s403="the staff member is not an admin",
    ),
)
async def posters_page(request: Request, lang: Language = None) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return await _posters_page(request, signed, language)


@admin_router.post(
    "/posters",
    response_class=Response,
    responses={
        **_html(
            s303="not signed in: to sign-in",
            s403="the form's CSRF token does not match, or the staff member is not an admin",
        ),
        200: {
            "content": {"application/pdf": {}, "image/svg+xml": {}},
            "description": "the poster, to download",
        },
    },
)
async def build_poster(request: Request, lang: Language = None) -> Response:
    """The poster drawn by intake's poster route (`POST /api/v1/admin/posters.{pdf,svg}`), handed to the browser as
    a download; a refusal comes back on the page with what was typed."""
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
    typed = {name: _field(form, name, 200) for name in POSTER_FIELDS}
    fmt = "svg" if _field(form, "format") == "svg" else "pdf"
    spec = {k: v for k, v in typed.items() if v}  # the API reads the coordinates and refuses them by name
    answer = await _call_intake(request, signed, "POST", f"/api/v1/admin/posters.{fmt}", spec)
    if answer.status_code == 401:
        return _not_signed_in(request, language)
    if answer.status_code == 200:
        return Response(
            answer.content,
            media_type=answer.headers["content-type"],
            headers={
                "Content-Disposition": answer.headers["content-disposition"],
                "Cache-Control": "no-store",
            },
        )
    try:
        body = answer.json()
    except ValueError:
        body = None
    return await _posters_page(
        request,
        signed,
        language,
        problem=refusal_text(answer.status_code, body),
        status_code=answer.status_code if 400 <= answer.status_code < 500 else 502,
        typed={**typed, "format": fmt},
    )


# -- bodies -----------------------------------------------------------------------------------------------------------

BODIES_PAGE = f"{ADMIN_PATH}/bodies"
BodyId = Annotated[str, PathParam(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="the body")]


async def _bodies_page(
    request: Request,
    signed: SignedIn,
    language: str,
    *,
    done: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = _intake(request).settings
    base = settings.admin_outbound_url
    found: list[dict[str, Any]] = []
    if base:
        try:
            found = await outbound.bodies(
                base, signed.session.access_token, settings.console_upstream_timeout_s
            )
        except SignedOut:
            return _not_signed_in(request, language)
        except Unavailable:
            problem = problem or "outbound_unavailable"
            status_code = 503 if status_code == 200 else status_code
    return _render(
        request,
        "admin_bodies.html",
        language,
        status_code=status_code,
        signed=signed,
        section="bodies",
        configured=bool(base),
        bodies=found,
        done=done if done in ("paused", "resumed") else None,
        problem=problem,
    )


@admin_router.get(
    "/bodies",
    response_class=Response,
    responses=_html(
        s200="per body: what is queued, retrying, sent, given up, paused; pause and resume",
        s303="not signed in: to sign-in",
        s403="the staff member is not an admin",
        s503="outbound cannot be reached: the page says so",
    ),
)
async def bodies_page(
    request: Request, lang: Language = None, done: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return await _bodies_page(request, signed, language, done=done)


@admin_router.post(
    "/bodies/{body_id}/{change}",
    response_class=Response,
    responses=_html(
        s303="done: to the bodies page (or, not signed in, to sign-in)",
        s403="the form's CSRF token does not match, or the staff member is not an admin",
        s404="no such body in the admin's jurisdiction, or no such change",
        s503="outbound cannot be reached: the page says so",
    ),
)
async def pause_or_resume(
    request: Request,
    body_id: BodyId,
    change: Annotated[str, PathParam(max_length=20, description="pause or resume")],
    lang: Language = None,
) -> Response:
    """Outbound's pause or resume of the body, asked with the admin's own token."""
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
    if change not in ("pause", "resume"):
        return Response("no such change", status_code=404, media_type="text/html")
    settings = _intake(request).settings
    try:
        await outbound.pause_or_resume(
            settings.admin_outbound_url,
            signed.session.access_token,
            settings.console_upstream_timeout_s,
            body_id,
            pause=change == "pause",
            reason=_field(form, "reason", 200),
        )
    except SignedOut:
        return _not_signed_in(request, language)
    except outbound.NoSuchBody:
        return await _bodies_page(request, signed, language, problem="no_such_body", status_code=404)
    except Unavailable:
        return await _bodies_page(request, signed, language, problem="outbound_unavailable", status_code=503)
    done = "paused" if change == "pause" else "resumed"
    return RedirectResponse(_link(BODIES_PAGE, language, done=done), status_code=303)


# -- the catalogue ----------------------------------------------------------------------------------------------------

CATALOGUE_PAGE = f"{ADMIN_PATH}/catalogue"
ServiceCode = Annotated[
    str, PathParam(max_length=64, pattern=r"^[\w\-.]+$", description="the service's code")
]
SERVICE_FIELDS = ("service_code", "service_name", "description", "group", "keywords")


async def _catalogue_page(
    request: Request,
    signed: SignedIn,
    language: str,
    *,
    done: str | None = None,
    problem: str | None = None,
    refusal: str | None = None,
    status_code: int = 200,
    typed: Mapping[str, Any] | None = None,
) -> Response:
    settings = _intake(request).settings
    base = settings.admin_gateway_url
    found: list[dict[str, Any]] = []
    if base:
        try:
            found = await catalogue.services(
                base,
                signed.session.access_token,
                settings.console_upstream_timeout_s,
                signed.staff.jurisdiction_id,
            )
        except SignedOut:
            return _not_signed_in(request, language)
        except Unavailable:
            problem = problem or "gateway_unavailable"
            status_code = 503 if status_code == 200 else status_code
    return _render(
        request,
        "admin_catalogue.html",
        language,
        status_code=status_code,
        signed=signed,
        section="catalogue",
        configured=bool(base),
        services=found,
        done=done if done in ("defined", "withdrawn") else None,
        problem=problem,
        refusal=refusal,
        typed=typed or {},
    )


@admin_router.get(
    "/catalogue",
    response_class=Response,
    responses=_html(
        s200="the jurisdiction's services (withdrawn ones too), a form to define one",
        s303="not signed in: to sign-in",
        s403="the staff member is not an admin",
        s503="the gateway cannot be reached: the page says so",
    ),
)
async def catalogue_page(
    request: Request, lang: Language = None, done: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return await _catalogue_page(request, signed, language, done=done)


async def _catalogue_change(
    request: Request, language: str, signed: SignedIn, change: Any, done: str, typed: Any
) -> Response:
    try:
        await change
    except SignedOut:
        return _not_signed_in(request, language)
    except catalogue.Refused as refused:
        return await _catalogue_page(
            request, signed, language, refusal=str(refused), status_code=409, typed=typed
        )
    except Unavailable:
        return await _catalogue_page(
            request, signed, language, problem="gateway_unavailable", status_code=503
        )
    return RedirectResponse(_link(CATALOGUE_PAGE, language, done=done), status_code=303)


_CATALOGUE_ANSWERS = _html(
    s303="done: to the catalogue page (or, not signed in, to sign-in)",
    s403="the form's CSRF token does not match, or the staff member is not an admin",
    s409="refused by the gateway (a code in use, a field out of bounds): the page again, with why",
    s503="the gateway cannot be reached: the page says so",
)


@admin_router.post("/catalogue/services", response_class=Response, responses=_CATALOGUE_ANSWERS)
async def define_service(request: Request, lang: Language = None) -> Response:
    """A new service of the catalogue (`ServiceDefined` on `jurisdiction.config`, by the gateway)."""
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
    typed = {name: _field(form, name, 2000) for name in SERVICE_FIELDS}
    service = {
        "service_code": typed["service_code"],
        "service_name": typed["service_name"],
        "description": typed["description"],
        "group": typed["group"],
        "keywords": [k.strip() for k in typed["keywords"].split(",") if k.strip()],
    }
    settings = _intake(request).settings
    change = catalogue.define(
        settings.admin_gateway_url,
        signed.session.access_token,
        settings.console_upstream_timeout_s,
        signed.staff.jurisdiction_id,
        service,
    )
    return await _catalogue_change(request, language, signed, change, "defined", typed)


@admin_router.post(
    "/catalogue/services/{code}/withdraw", response_class=Response, responses=_CATALOGUE_ANSWERS
)
async def withdraw_service(request: Request, code: ServiceCode, lang: Language = None) -> Response:
    """The service withdrawn (no longer offered to residents; its definition kept)."""
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
    settings = _intake(request).settings
    change = catalogue.withdraw(
        settings.admin_gateway_url,
        signed.session.access_token,
        settings.console_upstream_timeout_s,
        signed.staff.jurisdiction_id,
        code,
    )
    return await _catalogue_change(request, language, signed, change, "withdrawn", {})
