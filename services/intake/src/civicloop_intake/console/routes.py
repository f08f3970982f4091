"""The agents' console at `/console`: sign-in (email, password and TOTP, or single sign-on) into a server-side
session, the queues (public-projections' agent view), and a request's page with its history and every action of
intake's agent API, each a form posted here and passed on to that API in-process with the agent's own token.

Every form carries a CSRF token: the session's (compared in constant time), or before sign-in one also set in a
SameSite=Strict cookie. The session cookie is HttpOnly, SameSite=Strict, Secure over https, and holds a random id
only. Pages carry the residents' pages' headers (nothing from elsewhere, no inline script) and are never cached.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from civicloop_events import new_event_id
from civicloop_staff.oidc import OidcError
from civicloop_staff.roles import READS_REQUESTS, WORKS_REQUESTS, Role, StaffPrincipal
from civicloop_staff.tokens import InvalidStaffToken, StaffTokenVerifier
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from civicloop_intake.adapters import staff_directory
from civicloop_intake.bootstrap import Intake
from civicloop_intake.console import sessions, upstream
from civicloop_intake.console.actions import (
    ACTIONS,
    TEMPLATE_ACTIONS,
    VISIT_ACTIONS,
    Incomplete,
    PlannedVisit,
    RequestFacts,
    UnknownAction,
    api_call,
    proposed_event,
    refusal_text,
)
from civicloop_intake.console.queue import (
    BULK_ACTIONS,
    MAX_SELECTED,
    BulkOutcome,
    bulk_command,
    bulk_outcome,
    selected_numbers,
    sla_summary,
)
from civicloop_intake.console.sessions import ConsoleSession
from civicloop_intake.console.texts import console_texts
from civicloop_intake.pages.rendering import page, templates
from civicloop_intake.pages.stores import active_categories
from civicloop_intake.pages.texts import page_language
from civicloop_intake.service_layer.staff_oidc import NoProvider
from civicloop_intake.service_layer.staff_sign_in import AccessToken, SignInRefused, confirm_totp, sign_in

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/static/console"
CONSOLE_PATH = "/console"
SIGN_IN_PATH = "/console/sign-in"
QUEUE_PATH = "/console/queue"
SESSION_COOKIE = "civicloop_console"
FORM_COOKIE = "civicloop_console_form"  # the sign-in forms' CSRF token, before there is a session
OPEN_STATUSES = ("open", "acknowledged", "in_progress", "on_hold")
SLA_STATES = ("breached", "at_risk", "due", "missed", "met")
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
NUMBER = PathParam(pattern=r"^[0-9A-Za-z]{4}-[0-9A-Za-z]{4}$", description="the request number")

log = logging.getLogger("civicloop.intake.console")
console_router = APIRouter(prefix=CONSOLE_PATH, tags=["agents' console"])
_templates = templates(HERE / "templates")

Language = Annotated[str | None, Query(alias="lang", max_length=35)]


def _html(**answers: str) -> dict[int | str, dict[str, Any]]:
    """A console route's answers: HTML pages, redirections (no body), and the skeleton's refusals in JSON (a
    parameter out of bounds, a form it could not read, a client over its rate limit)."""
    documented: dict[int | str, dict[str, Any]] = {
        422: {
            "content": {"text/html": {}, "application/json": {}},
            "description": "a parameter out of bounds (JSON), or an action refused by the API's rules (the page)",
        },
        429: {"content": {"text/html": {}, "application/json": {}}, "description": "over the rate limit"},
    }
    for name, text in answers.items():
        status = int(name.removeprefix("s"))
        if status in (302, 303):
            documented[status] = {"description": text}
        elif status == 400:
            documented[status] = {"content": {"text/html": {}, "application/json": {}}, "description": text}
        else:
            documented[status] = {"content": {"text/html": {}}, "description": text}
    return documented


def _now() -> datetime:
    return datetime.now(UTC)


def _intake(request: Request) -> Intake:
    intake: Intake = request.app.state.service
    return intake


def _language(request: Request, chosen: str | None) -> str:
    return page_language(chosen, request.headers.get("accept-language"))


def _link(path: str, language: str, **query: str) -> str:
    return str(httpx.URL(path, params={**query, "lang": language}))


def _render(
    request: Request, template: str, language: str, *, status_code: int = 200, **context: Any
) -> Response:
    return page(
        template,
        language=language,
        here=request.url.path,
        environment=_templates,
        no_store=True,  # staff data, and forms with CSRF tokens: never kept by a cache
        status_code=status_code,
        c=console_texts(language),
        console_static=STATIC_PATH,
        **context,
    )


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=CONSOLE_PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def _not_signed_in(request: Request, language: str) -> RedirectResponse:
    """To the sign-in form; saying the session ended only to a browser that had one."""
    had_one = SESSION_COOKIE in request.cookies
    return _to_sign_in(language, **({"ended": "session"} if had_one else {}))


def _to_sign_in(language: str, **query: str) -> RedirectResponse:
    response = RedirectResponse(_link(SIGN_IN_PATH, language, **query), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PATH)
    return response


# -- sessions ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    session: ConsoleSession
    staff: StaffPrincipal


async def _signed_in(request: Request) -> SignedIn | None:
    """The caller's session, its token still valid; None without one (no database is read without a cookie)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 100:
        return None
    intake = _intake(request)
    if intake.pool is None:
        return None
    session = await sessions.find_session(intake.pool, session_id, now=_now())
    if session is None:
        return None
    verifier: StaffTokenVerifier = request.app.state.staff_verifier
    try:
        principal = verifier.verify(session.access_token)
    except InvalidStaffToken:
        await sessions.end_session(intake.pool, session_id)
        return None
    return SignedIn(session_id, session, principal)


async def _start_session(request: Request, token: AccessToken, language: str) -> Response:
    intake = _intake(request)
    verifier: StaffTokenVerifier = request.app.state.staff_verifier
    principal = verifier.verify(token.access_token)
    if intake.pool is None:
        raise RuntimeError("the console needs intake's database")
    session_id = await sessions.open_session(
        intake.pool,
        staff_id=principal.staff_id,
        access_token=token.access_token,
        expires_in_s=token.expires_in,
        now=_now(),
    )
    log.info("console session opened", extra={"staff_id": str(principal.staff_id)})
    # Staff who read no requests (an admin only) start on the admin pages rather than a queue they cannot open.
    start = QUEUE_PATH if principal.has_any(frozenset(READS_REQUESTS)) else f"{CONSOLE_PATH}/admin"
    response = RedirectResponse(_link(start, language), status_code=303)
    _cookie(response, request, SESSION_COOKIE, session_id, token.expires_in)
    response.delete_cookie(FORM_COOKIE, path=CONSOLE_PATH)
    return response


# -- signing in -------------------------------------------------------------------------------------------------------


def _sso_jurisdictions(intake: Intake) -> list[str]:
    try:
        return sorted(str(p["jurisdiction_id"]) for p in json.loads(intake.settings.staff_oidc_providers))
    except (ValueError, KeyError, TypeError):
        return []


def _sign_in_page(
    request: Request,
    language: str,
    *,
    status_code: int = 200,
    message: str | None = None,
    alert: str | None = None,
    email: str = "",
    enrolment: Any = None,
) -> Response:
    form_token = secrets.token_urlsafe(32)
    qr = (
        "data:image/svg+xml;base64," + base64.b64encode(enrolment.qr_svg.encode()).decode()
        if enrolment is not None
        else None
    )
    response = _render(
        request,
        "enrol.html" if enrolment is not None else "sign_in.html",
        language,
        status_code=status_code,
        form_token=form_token,
        message=message,
        alert=alert,
        email=email,
        enrolment=enrolment,
        qr=qr,
        enrol_key=_secret_of(enrolment.otpauth_uri) if enrolment is not None else None,
        sso=_sso_jurisdictions(_intake(request)),
    )
    _cookie(response, request, FORM_COOKIE, form_token, 1800)
    return response


def _secret_of(otpauth_uri: str) -> str:
    secret = httpx.URL(otpauth_uri).params.get("secret", "")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _form_token_ok(request: Request, form: Mapping[str, Any]) -> bool:
    cookie, sent = request.cookies.get(FORM_COOKIE), form.get("form_token")
    if not cookie or not isinstance(sent, str):
        return False
    return hmac.compare_digest(cookie.encode(), sent.encode())


@console_router.get("", status_code=303, response_class=Response, responses=_html(s303="to the queue"))
async def console_home(request: Request, lang: Language = None) -> RedirectResponse:
    return RedirectResponse(_link(QUEUE_PATH, _language(request, lang)), status_code=303)


@console_router.get("/sign-in", response_class=Response, responses=_html(s200="the sign-in form"))
async def sign_in_form(
    request: Request,
    lang: Language = None,
    ended: Annotated[str | None, Query(max_length=20, pattern=r"^(signed_out|session)$")] = None,
) -> Response:
    language = _language(request, lang)
    t = console_texts(language)
    message = {"signed_out": t["signed_out"], "session": t["session_ended"]}.get(ended or "")
    return _sign_in_page(request, language, message=message)


@console_router.post(
    "/sign-in",
    response_class=Response,
    responses=_html(
        s200="the next step: the code, or setting up the authenticator app",
        s303="signed in: to the queue",
        s400="the form expired (its CSRF token does not match)",
        s401="refused (any reason, alike)",
    ),
)
async def sign_in_post(request: Request, lang: Language = None) -> Response:
    form = await request.form()
    language = _language(request, lang)
    t = console_texts(language)
    if not _form_token_ok(request, form):
        return _sign_in_page(request, language, status_code=400, message=t["expired_form"])
    email, password, code = (str(form.get(k) or "").strip() for k in ("email", "password", "code"))
    intake = _intake(request)
    if intake.staff is None:
        raise RuntimeError("staff sign-in needs intake's database")
    try:
        answer = await sign_in(
            intake.staff.sign_in, email=email, password=password, code=code or None, now=_now()
        )
    except SignInRefused:
        return _sign_in_page(request, language, status_code=401, message=t["refused"], email=email)
    if answer.token is not None:
        return await _start_session(request, answer.token, language)
    if answer.enrolment is not None:
        return _sign_in_page(request, language, enrolment=answer.enrolment)
    return _sign_in_page(request, language, message=t["code_needed"], email=email)


@console_router.post(
    "/sign-in/totp",
    response_class=Response,
    responses=_html(s303="enrolled and signed in", s400="the form expired", s401="refused"),
)
async def confirm_totp_post(request: Request, lang: Language = None) -> Response:
    """The first code of the newly set-up authenticator app: TOTP takes effect and the session starts."""
    form = await request.form()
    language = _language(request, lang)
    t = console_texts(language)
    if not _form_token_ok(request, form):
        return _sign_in_page(request, language, status_code=400, message=t["expired_form"])
    intake = _intake(request)
    if intake.staff is None:
        raise RuntimeError("staff sign-in needs intake's database")
    try:
        token = await confirm_totp(
            intake.staff.sign_in,
            ticket=str(form.get("ticket") or "")[:200],
            code=str(form.get("code") or "").strip()[:16],
            now=_now(),
        )
    except SignInRefused:
        return _sign_in_page(request, language, status_code=401, message=t["refused"])
    return await _start_session(request, token, language)


@console_router.get(
    "/sso/{jurisdiction_id}/start",
    status_code=302,
    response_class=Response,
    responses=_html(s302="to the identity provider", s404="no single sign-on for this jurisdiction"),
)
async def sso_start(
    request: Request,
    jurisdiction_id: Annotated[str, PathParam(max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")],
    lang: Language = None,
) -> Response:
    """Single sign-on: the provider's redirect URI must be `/console/sso/callback` for it to come back here."""
    intake = _intake(request)
    if intake.staff is None:
        raise RuntimeError("staff sign-in needs intake's database")
    language = _language(request, lang)
    try:
        url = await intake.staff.sso.start(jurisdiction_id, now=_now())
    except NoProvider:
        return _sign_in_page(request, language, status_code=404)
    except OidcError:
        return _sign_in_page(
            request, language, status_code=503, alert=console_texts(language)["sso_unavailable"]
        )
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@console_router.get(
    "/sso/callback",
    response_class=Response,
    responses=_html(
        s200="signed in: a page that moves on to the console",
        s401="refused",
        s503="the identity provider cannot be reached",
    ),
)
async def sso_callback(request: Request) -> Response:
    """The provider sends the browser back here. Signed in, the answer is a page that moves on by itself (and by
    its link): this navigation came from the provider's site, so a redirection from here would still be
    cross-site and the browser would not send the SameSite=Strict session cookie on it."""
    intake = _intake(request)
    language = _language(request, None)
    t = console_texts(language)
    if intake.staff is None:
        raise RuntimeError("staff sign-in needs intake's database")
    try:
        token = await intake.staff.sso.callback(dict(request.query_params), now=_now())
    except SignInRefused:
        return _sign_in_page(request, language, status_code=401, alert=t["sso_refused"])
    except OidcError:
        return _sign_in_page(request, language, status_code=503, alert=t["sso_unavailable"])
    started = await _start_session(request, token, language)
    moving_on = _render(request, "sso_signed_in.html", language, next=started.headers["location"])
    moving_on.raw_headers.extend((k, v) for k, v in started.raw_headers if k == b"set-cookie")
    return moving_on


@console_router.post(
    "/sign-out",
    response_class=Response,
    responses=_html(s303="signed out: to the sign-in form", s403="the form's CSRF token does not match"),
)
async def sign_out(request: Request, lang: Language = None) -> Response:
    language = _language(request, lang)
    posted = await _posted(request, language)
    if isinstance(posted, Response):
        return posted
    signed, _ = posted
    intake = _intake(request)
    if intake.pool is not None:
        await sessions.end_session(intake.pool, signed.session_id)
    log.info("console session closed", extra={"staff_id": str(signed.staff.staff_id)})
    return _to_sign_in(language, ended="signed_out")


async def _reader(request: Request, language: str) -> SignedIn | Response:
    """The signed-in staff member, who reads requests; else the answer: to sign-in, or forbidden (403)."""
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    if not signed.staff.has_any(frozenset(READS_REQUESTS)):
        return _render(request, "forbidden.html", language, status_code=403, signed=signed)
    return signed


async def _posted(request: Request, language: str) -> tuple[SignedIn, FormData] | Response:
    """The signed-in staff member and their form, its CSRF token the session's; else to sign-in, or 403."""
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    form = await request.form()
    if not signed.session.csrf_matches(_text(form, "csrf")):
        return Response("the form's CSRF token does not match", status_code=403, media_type="text/html")
    return signed, form


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# -- the queue --------------------------------------------------------------------------------------------------------

Views = ("open", "mine", "unassigned", "dormant")
STATUS_CHOICES = (
    "acknowledged",
    "in_progress",
    "on_hold",
)  # what "set status" offers; closing has its own form
_TEAM = re.compile(r"^[^\x00]{1,64}$")


def queue_filters(
    view: str,
    statuses: list[str],
    sla_states: list[str],
    cursor: str | None,
    teams: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """The agent view's query for the console's queue: open work (merged duplicates left out) unless statuses
    are chosen; `mine`, `unassigned` or the SLA's `dormant` on top; held by any of `teams`."""
    filters: list[tuple[str, str]] = [("merged", "false"), ("limit", "50")]
    chosen = [s for s in statuses if s in (*OPEN_STATUSES, "closed")]
    filters += [("status", s) for s in chosen or OPEN_STATUSES]
    filters += [("sla_state", s) for s in sla_states if s in SLA_STATES]
    filters += [("team", t) for t in teams if _TEAM.match(t)]
    if view == "mine":
        filters.append(("mine", "true"))
    elif view == "unassigned":
        filters.append(("unassigned", "true"))
    elif view == "dormant":
        filters.append(("dormant", "true"))
    if cursor:
        filters.append(("cursor", cursor))
    return filters


@dataclass(frozen=True)
class QueueView:
    """A queue and its filters, as the page's URL (and the bulk form's hidden fields) keep them."""

    view: str = "open"
    statuses: tuple[str, ...] = ()
    sla_states: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    cursor: str | None = None

    @classmethod
    def of(
        cls,
        view: str | None,
        statuses: Sequence[str],
        sla_states: Sequence[str],
        teams: Sequence[str],
        cursor: str | None = None,
    ) -> QueueView:
        """Only the values the queue knows (a form's fields are not checked by FastAPI as a query is)."""
        return cls(
            view if view in Views else "open",
            tuple(s for s in statuses if s in (*OPEN_STATUSES, "closed"))[:5],
            tuple(s for s in sla_states if s in SLA_STATES)[:5],
            tuple(t for t in teams if _TEAM.match(t))[:5],
            cursor if cursor and len(cursor) <= 500 else None,
        )

    def params(self, *, cursor: bool = False) -> dict[str, str | list[str]]:
        """The query for a link to this queue (the page's cursor too when `cursor`)."""
        query: dict[str, str | list[str]] = {"view": self.view}
        for name, values in (("status", self.statuses), ("sla_state", self.sla_states), ("team", self.teams)):
            if values:
                query[name] = list(values)
        if cursor and self.cursor:
            query["cursor"] = self.cursor
        return query

    def current(self) -> str | None:
        """The sidebar's queue this page is, when it is exactly one of them."""
        filters = [("status", self.statuses), ("sla", self.sla_states), ("team", self.teams)]
        chosen = [(kind, values) for kind, values in filters if values]
        if not chosen:
            return f"view:{self.view}"
        if self.view == "open" and len(chosen) == 1 and len(chosen[0][1]) == 1:
            return f"{chosen[0][0]}:{chosen[0][1][0]}"
        return None


def _queue_link(language: str, qv: QueueView, **extra: str) -> str:
    return str(httpx.URL(QUEUE_PATH, params={**qv.params(), **extra, "lang": language}))


async def _queue_page(
    request: Request,
    signed: SignedIn,
    language: str,
    qv: QueueView,
    *,
    select_all: bool = False,
    selected: Sequence[str] = (),
    outcome: BulkOutcome | None = None,
    bulk_problem: str | None = None,
    status_code: int = 200,
    wait: Sequence[str] = (),
) -> Response:
    """The queue page: the counts of every queue, the requests of `qv` with their SLA in words, and (for staff who
    work requests) the bulk form; after a bulk action, read once the agent view applied its events (`wait`)."""
    intake = _intake(request)
    settings = intake.settings
    base, timeout = settings.console_projections_url, settings.console_upstream_timeout_s
    token = signed.session.access_token
    items: list[dict[str, Any]] = []
    next_cursor = counts = None
    problem = None
    try:
        if wait:
            await upstream.wait_for(base, token, timeout, wait)
        counts = await upstream.counts(base, token, timeout)
        items, next_cursor = await upstream.queue(
            base,
            token,
            timeout,
            queue_filters(qv.view, list(qv.statuses), list(qv.sla_states), qv.cursor, qv.teams),
        )
    except upstream.SignedOut:
        return _not_signed_in(request, language)
    except upstream.Unavailable:
        problem = "no_projections" if not base else "view_unavailable"
    teams_known = sorted({str(e["value"]) for e in (counts or {}).get("by_team", []) if e.get("value")})
    return _render(
        request,
        "queue.html",
        language,
        status_code=503 if problem == "view_unavailable" else status_code,
        keep={
            "view": qv.view,
            "status": next(iter(qv.statuses), ""),
            "sla_state": next(iter(qv.sla_states), ""),
            "team": next(iter(qv.teams), ""),
        },
        signed=signed,
        items=items,
        rows=[(item, sla_summary(item.get("sla"))) for item in items],
        counts=counts,
        problem=problem,
        view=qv.view,
        qv=qv,
        current=qv.current(),
        statuses=list(qv.statuses),
        sla_states=list(qv.sla_states),
        teams=list(qv.teams),
        team_choices=sorted({*teams_known, *qv.teams}),
        all_statuses=(*OPEN_STATUSES, "closed"),
        all_sla_states=SLA_STATES,
        views=Views,
        next_link=_queue_link(language, replace(qv, cursor=next_cursor), cursor=next_cursor)
        if next_cursor
        else None,
        select_all_link=_queue_link(
            language, qv, **({"cursor": qv.cursor} if qv.cursor else {}), select="all"
        ),
        clear_link=_queue_link(language, qv, **({"cursor": qv.cursor} if qv.cursor else {})),
        select_all=select_all,
        selected=set(selected),
        can_work=signed.staff.has_any(frozenset(WORKS_REQUESTS)),
        close_reasons=intake.work_policy.close_reasons,
        status_choices=STATUS_CHOICES,
        bulk_key=f"console-bulk-{new_event_id()}",
        outcome=outcome,
        bulk_problem=bulk_problem,
    )


@console_router.get(
    "/queue",
    response_class=Response,
    responses=_html(
        s200="the queue",
        s303="not signed in: to sign-in",
        s403="the staff member does not read requests",
        s503="the agent view cannot be reached: the page says so",
    ),
)
async def queue_page(
    request: Request,
    lang: Language = None,
    view: Annotated[str, Query(pattern=r"^(open|mine|unassigned|dormant)$")] = "open",
    status: Annotated[list[str] | None, Query(max_length=5)] = None,
    sla_state: Annotated[list[str] | None, Query(max_length=5)] = None,
    team: Annotated[list[str] | None, Query(max_length=5)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    select: Annotated[
        str | None, Query(pattern=r"^all$", description="every request of the page ticked")
    ] = None,
) -> Response:
    language = _language(request, lang)
    signed = await _reader(request, language)
    if isinstance(signed, Response):
        return signed
    qv = QueueView.of(view, status or [], sla_state or [], team or [], cursor)
    return await _queue_page(request, signed, language, qv, select_all=select == "all")


async def _agent_api_post(
    request: Request, signed: SignedIn, path: str, body: Mapping[str, Any], key: str
) -> httpx.Response:
    """A console form passed on to intake's own agent API in-process, with the agent's token and the form's
    Idempotency-Key; the API's per-client limits count the agent's browser, as for the form's own post."""
    headers = {
        "Authorization": f"Bearer {signed.session.access_token}",
        "Idempotency-Key": key if _KEY.match(key) else f"console-{new_event_id()}",
    }
    if forwarded := request.headers.get("x-forwarded-for"):
        headers["X-Forwarded-For"] = forwarded  # behind a trusted proxy, the same client as the form's post
    client_host = request.client.host if request.client else "127.0.0.1"
    transport = httpx.ASGITransport(app=request.app, client=(client_host, 0))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=60) as client:
        return await client.post(path, json=dict(body), headers=headers)


@console_router.post(
    "/queue",
    response_class=Response,
    responses=_html(
        s200="the bulk action done: the queue with each request's outcome; or, to close, the summary to confirm",
        s303="not signed in: to sign-in",
        s403="the form's CSRF token does not match, or the staff member does not work requests",
        s404="no such bulk action",
        s409="the form's Idempotency-Key came with another selection: the queue, with why",
        s502="the API failed (event log unavailable): the queue again, to retry",
        s503="the agent view cannot be reached: the page says so",
    ),
)
async def queue_bulk(request: Request, lang: Language = None) -> Response:
    """The bulk form: one command (acknowledge, assign, set status, close) over the requests ticked on the page,
    passed on to intake's `POST /api/v1/agent/requests/bulk`; a close is summed up for the agent to confirm first.
    The queue comes back with each request's outcome (done, or refused and why), read after its events."""
    language = _language(request, lang)
    posted = await _posted(request, language)
    if isinstance(posted, Response):
        return posted
    signed, form = posted
    if not signed.staff.has_any(frozenset(WORKS_REQUESTS)):
        return _render(request, "forbidden.html", language, status_code=403, signed=signed)

    def strings(name: str) -> list[str]:
        return [v for v in form.getlist(name) if isinstance(v, str)][:MAX_SELECTED]

    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    qv = QueueView.of(fields.get("f_view"), strings("f_status"), strings("f_sla_state"), strings("f_team"))
    action = fields.get("action", "")
    if action not in BULK_ACTIONS:
        return Response("no such bulk action", status_code=404, media_type="text/html")
    numbers = selected_numbers(strings("number"))
    t = console_texts(language)
    if not numbers:
        return await _queue_page(
            request, signed, language, qv, bulk_problem=t["q_none_selected"], status_code=422
        )
    command = bulk_command(action, fields, staff_id=str(signed.staff.staff_id))
    key = fields.get("idempotency_key", "")
    key = key if _KEY.match(key) else f"console-bulk-{new_event_id()}"
    if action == "close" and not fields.get("confirmed"):
        policy = _intake(request).work_policy
        reason = policy.close_reason(str(command.get("reason", "")))
        return _render(
            request,
            "bulk_confirm.html",
            language,
            signed=signed,
            qv=qv,
            numbers=numbers,
            command=command,
            reason_label=reason.label if reason else command.get("reason", ""),
            key=key,
            back_link=_queue_link(language, qv),
        )
    answer = await _agent_api_post(
        request, signed, "/api/v1/agent/requests/bulk", {"request_numbers": numbers, "command": command}, key
    )
    if answer.status_code == 401:
        return _not_signed_in(request, language)
    if answer.status_code == 200:
        outcome = bulk_outcome(action, answer.json().get("results", []))
        refused = [i.number for i in outcome.items if i.outcome == "refused"]
        return await _queue_page(
            request, signed, language, qv, outcome=outcome, selected=refused, wait=outcome.positions()
        )
    try:
        body = answer.json()
    except ValueError:
        body = None
    return await _queue_page(
        request,
        signed,
        language,
        qv,
        selected=numbers,
        bulk_problem=refusal_text(answer.status_code, body),
        status_code=answer.status_code if 400 <= answer.status_code < 500 else 502,
    )


# -- a request --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """An action's form shown again with what the notifier says it would send, before it is saved."""

    action: str
    form: str  # which form: the action, and for a visit's, the visit too (`reschedule:v-1`)
    key: str  # the form's Idempotency-Key, kept: saving after a preview is the same action
    values: Mapping[str, str]
    messages: list[dict[str, Any]]
    unavailable: bool = False
    incomplete: bool = False  # the form lacks what its event needs: nothing to forecast yet


def form_of(action: str, fields: Mapping[str, str]) -> str:
    """The form an action's fields came from: one per action, and per visit for a visit's actions."""
    return f"{action}:{fields.get('visit_id', '')}" if action in VISIT_ACTIONS else action


@dataclass(frozen=True)
class StaffChoice:
    staff_id: str
    label: str  # name and email, as the picker shows it
    teams: tuple[str, ...]  # the teams' names


@dataclass(frozen=True)
class Directory:
    """Whom the page names: the jurisdiction's active teams, and its staff by id (the ones an assignment may name
    among them: active agents and supervisors)."""

    teams: list[tuple[str, str]]  # (team_id, name), active ones
    team_names: Mapping[str, str]
    names: Mapping[str, str]  # staff id -> name (or email)
    assignable: list[StaffChoice]


def directory_of(teams: list[staff_directory.Team], accounts: list[staff_directory.Account]) -> Directory:
    """The page's view of the staff directory: names for ids, and the assignment picker's choices."""
    works = {Role.agent.value, Role.supervisor.value}
    team_names = {t.team_id: t.name for t in teams}
    names = {str(a.staff_id): a.name or a.email or str(a.staff_id) for a in accounts}
    assignable = [
        StaffChoice(
            str(a.staff_id),
            " · ".join(part for part in (a.name, a.email) if part) or str(a.staff_id),
            tuple(team_names.get(t, t) for t in a.teams),
        )
        for a in accounts
        if a.disabled is None and works & set(a.roles)
    ]
    return Directory(
        teams=[(t.team_id, t.name) for t in teams if t.active],
        team_names=team_names,
        names=names,
        assignable=assignable,
    )


async def _directory(intake: Intake, jurisdiction_id: str) -> Directory:
    if intake.pool is None or intake.staff is None:
        return directory_of([], [])
    return directory_of(
        await staff_directory.teams(intake.pool, jurisdiction_id),
        await staff_directory.accounts(intake.pool, intake.staff.store, jurisdiction_id),
    )


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def facts_of(found: Mapping[str, Any]) -> RequestFacts:
    """What a preview's forecast reads of the agent view's request: its status, category, address, planned visits."""
    visits = tuple(
        PlannedVisit(v["visit_id"], _moment(v["starts_at"]), v["duration_minutes"], v["address"])
        for v in found.get("visits") or ()
        if v.get("state") == "planned"
    )
    return RequestFacts(
        number=found["request_number"],
        status=found["status"],
        service_code=found["service_code"],
        address=found.get("address_string"),
        visits=visits,
    )


_UNREAD: Any = object()  # `_request_page` reads the request itself


async def _request_page(
    request: Request,
    signed: SignedIn,
    language: str,
    number: str,
    *,
    after: str | None = None,
    done: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
    previewed: Preview | None = None,
    found: dict[str, Any] | None = _UNREAD,
) -> Response:
    intake = _intake(request)
    settings = intake.settings
    try:
        if found is _UNREAD:
            found = await upstream.request_detail(
                settings.console_projections_url,
                signed.session.access_token,
                settings.console_upstream_timeout_s,
                number.upper(),
                after,
            )
    except upstream.SignedOut:
        return _not_signed_in(request, language)
    except upstream.Unavailable:
        return _view_unavailable(request, signed, language)
    policy = intake.work_policy
    can_work = signed.staff.has_any(frozenset(WORKS_REQUESTS))
    jurisdiction = signed.staff.jurisdiction_id
    directory = await _directory(intake, jurisdiction)
    categories = (
        await active_categories(intake.pool, jurisdiction) if can_work and intake.pool is not None else []
    )
    service_code = found["service_code"] if found else None
    return _render(
        request,
        "request.html",
        language,
        status_code=404 if found is None else status_code,
        signed=signed,
        number=number.upper(),
        r=found,
        done=done if done in ACTIONS else None,
        problem=problem,
        can_work=can_work,
        close_reasons=policy.close_reasons,
        reopen_reasons=policy.reopen_reasons,
        reason_labels={r.code: r.label for r in (*policy.reopen_reasons, *policy.close_reasons)},
        templates={
            action: policy.templates_for(action=command, service_code=service_code)
            for action, command in TEMPLATE_ACTIONS.items()
        },
        directory=directory,
        categories=categories,
        priorities=("low", "normal", "high"),
        visits=_visits(found),
        key_for=lambda form: (
            previewed.key if previewed and previewed.form == form else f"console-{new_event_id()}"
        ),
        previewed=previewed,
        preview_offered=bool(settings.console_notifier_url),
        history=_history_rows(found["history"], directory.names) if found else [],
    )


def _visits(found: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The request's planned visits, each with its start as a `datetime-local` field shows it (UTC)."""
    planned = []
    for visit in (found or {}).get("visits") or ():
        if visit.get("state") != "planned":
            continue
        starts = _moment(visit["starts_at"]).astimezone(UTC)
        planned.append({**visit, "at": starts, "local": starts.strftime("%Y-%m-%dT%H:%M")})
    return planned


def _view_unavailable(request: Request, signed: SignedIn, language: str) -> Response:
    settings = _intake(request).settings
    return _render(
        request,
        "queue.html",
        language,
        status_code=503,
        signed=signed,
        items=[],
        counts=None,
        problem="view_unavailable" if settings.console_projections_url else "no_projections",
        view="open",
        statuses=[],
        sla_states=[],
        all_statuses=(),
        all_sla_states=(),
        views=Views,
        next_link=None,
    )


def _history_rows(history: list[dict[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each event as the page lists it: when, what, by whom (a staff member by name), and its payload's plain
    values."""
    rows = []
    for event in history:
        summary = event.get("summary") or {}
        details = [
            (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for key, value in summary.items()
            if value not in (None, "", [], {})
        ]
        actor = event.get("actor") or {}
        rows.append(
            {
                "at": datetime.fromisoformat(event["occurred_at"]),
                "type": event["type"],
                "actor": (
                    f"{actor.get('kind')}: {names.get(actor['id'], actor['id'])}"
                    if actor.get("id")
                    else actor.get("kind")
                ),
                "details": details,
            }
        )
    return rows


@console_router.get(
    "/requests/{number}",
    response_class=Response,
    responses=_html(
        s200="the request",
        s303="not signed in: to sign-in",
        s403="the staff member does not read requests",
        s404="no such request",
        s503="the agent view cannot be reached: the page says so",
    ),
)
async def request_page(
    request: Request,
    number: Annotated[str, NUMBER],
    lang: Language = None,
    after: Annotated[str | None, Query(max_length=40, pattern=r"^\d+:\d+$")] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    language = _language(request, lang)
    signed = await _reader(request, language)
    if isinstance(signed, Response):
        return signed
    return await _request_page(request, signed, language, number, after=after, done=done)


@console_router.post(
    "/requests/{number}/{action}",
    response_class=Response,
    responses=_html(
        s303="done: to the request's page (or, not signed in, to sign-in)",
        s403="the form's CSRF token does not match, or the staff member does not work requests",
        s404="no such action, or no such request",
        s502="the API failed (event log or database unavailable): the page again, to retry",
        s503="the agent view cannot be reached: the page says so",
        s409="refused by the request's state: the page again, with why",
    ),
)
async def request_action(
    request: Request,
    number: Annotated[str, NUMBER],
    action: Annotated[str, PathParam(max_length=20)],
    lang: Language = None,
) -> Response:
    """The action's form passed on to intake's agent API in-process, with the agent's token and the form's own
    Idempotency-Key (a double click or a resent form does it once)."""
    language = _language(request, lang)
    posted = await _posted(request, language)
    if isinstance(posted, Response):
        return posted
    signed, form = posted
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        call = api_call(action, fields, staff_id=str(signed.staff.staff_id))
    except UnknownAction:
        return Response("no such action", status_code=404, media_type="text/html")
    key = fields.get("idempotency_key", "")
    if fields.get("preview"):
        return await _preview(request, signed, language, number, action, fields, key)
    headers = {
        "Authorization": f"Bearer {signed.session.access_token}",
        "Idempotency-Key": key if _KEY.match(key) else f"console-{new_event_id()}",
    }
    if forwarded := request.headers.get("x-forwarded-for"):
        headers["X-Forwarded-For"] = forwarded  # behind a trusted proxy, the same client as the form's post
    # The API's per-client limits count the agent's browser, as for the form's own post.
    client_host = request.client.host if request.client else "127.0.0.1"
    transport = httpx.ASGITransport(app=request.app, client=(client_host, 0))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=60) as client:
        answer = await client.post(
            f"/api/v1/agent/requests/{number.upper()}{call.path}", json=call.body, headers=headers
        )
    if answer.status_code == 401:
        return _not_signed_in(request, language)
    if answer.status_code in (200, 201):
        position = answer.json().get("position") or {}
        after = f"{position.get('partition')}:{position.get('offset')}" if position else None
        query = {"done": action, **({"after": after} if after else {})}
        return RedirectResponse(_link(f"{CONSOLE_PATH}/requests/{number.upper()}", language, **query), 303)
    try:
        body = answer.json()
    except ValueError:
        body = None
    return await _request_page(
        request,
        signed,
        language,
        number,
        problem=refusal_text(answer.status_code, body),
        status_code=answer.status_code if 400 <= answer.status_code < 500 else 502,
    )


async def _preview(
    request: Request,
    signed: SignedIn,
    language: str,
    number: str,
    action: str,
    fields: Mapping[str, str],
    key: str,
) -> Response:
    """The notifier's answer for the event the form would make; nothing is saved, nothing sent."""
    intake = _intake(request)
    settings = intake.settings
    try:
        found = await upstream.request_detail(
            settings.console_projections_url,
            signed.session.access_token,
            settings.console_upstream_timeout_s,
            number.upper(),
            None,
        )
    except upstream.SignedOut:
        return _not_signed_in(request, language)
    except upstream.Unavailable:
        return _view_unavailable(request, signed, language)
    messages: list[dict[str, Any]] = []
    unavailable = incomplete = False
    try:
        proposed = (
            proposed_event(action, fields, facts=facts_of(found), policy=intake.work_policy)
            if found
            else None
        )
    except Incomplete:
        proposed, incomplete = None, True
    if proposed is not None:
        try:
            messages = await upstream.preview(
                settings.console_notifier_url,
                signed.session.access_token,
                settings.console_upstream_timeout_s,
                number=number.upper(),
                event_type=proposed[0],
                payload=proposed[1],
            )
        except upstream.SignedOut:
            return _not_signed_in(request, language)
        except upstream.Unavailable:
            unavailable = True
    kept = {k: v for k, v in fields.items() if k not in ("csrf", "preview", "idempotency_key")}
    previewed = Preview(
        action,
        form_of(action, fields),
        key if _KEY.match(key) else f"console-{new_event_id()}",
        kept,
        messages,
        unavailable,
        incomplete,
    )
    return await _request_page(request, signed, language, number, previewed=previewed, found=found)


# -- the queue's map ----------------------------------------------------------------------------------------------------


@console_router.get(
    "/queue/map",
    response_class=Response,
    responses=_html(
        s200="the queue's requests that have a place, on a map and as a list",
        s303="not signed in: to sign-in",
        s403="the staff member does not read requests",
        s503="the agent view cannot be reached: the page says so",
    ),
)
async def queue_map_page(
    request: Request,
    lang: Language = None,
    view: Annotated[str, Query(pattern=r"^(open|mine|unassigned|dormant)$")] = "open",
) -> Response:
    """The queue's requests (its first page) placed on a map, with the report map's library and basemap; the same
    requests as a list of links, the way to them without the map."""
    from civicloop_intake.pages.area_map import (
        with_tiles,
    )  # the report map's basemap, named in the page's policy

    language = _language(request, lang)
    signed = await _reader(request, language)
    if isinstance(signed, Response):
        return signed
    settings = _intake(request).settings
    base, timeout = settings.console_projections_url, settings.console_upstream_timeout_s
    items: list[dict[str, Any]] = []
    problem = None
    try:
        items, _ = await upstream.queue(
            base, signed.session.access_token, timeout, queue_filters(view, [], [], None)
        )
    except upstream.SignedOut:
        return _not_signed_in(request, language)
    except upstream.Unavailable:
        problem = "no_projections" if not base else "view_unavailable"
    placed = [
        {
            "number": r["request_number"],
            "lat": r["location"]["lat"],
            "long": r["location"]["long"],
            "title": f"{r['request_number']} · {r.get('service_name') or r.get('service_code') or ''}",
            "link": _link(f"{CONSOLE_PATH}/requests/{r['request_number']}", language),
        }
        for r in items
        if r.get("location")
    ]
    answer = _render(
        request,
        "queue_map.html",
        language,
        status_code=503 if problem == "view_unavailable" else 200,
        signed=signed,
        items=[r for r in items if r.get("location")],
        placed=placed,
        unplaced=len(items) - len(placed),
        problem=problem,
        view=view,
        tiles={
            "url": settings.map_tile_url,
            "attribution": settings.map_tile_attribution,
            "max_zoom": settings.map_tile_max_zoom,
        },
    )
    if settings.map_tile_url:
        policy = answer.headers["Content-Security-Policy"]
        answer.headers["Content-Security-Policy"] = with_tiles(policy, settings.map_tile_url)
    return answer
