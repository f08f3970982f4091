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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from civicloop_events import new_event_id
from civicloop_staff.oidc import OidcError
from civicloop_staff.roles import READS_REQUESTS, WORKS_REQUESTS, StaffPrincipal
from civicloop_staff.tokens import InvalidStaffToken, StaffTokenVerifier
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from civicloop_intake.bootstrap import Intake
from civicloop_intake.console import sessions, upstream
from civicloop_intake.console.actions import ACTIONS, UnknownAction, api_call, proposed_event, refusal_text
from civicloop_intake.console.sessions import ConsoleSession
from civicloop_intake.console.texts import console_texts
from civicloop_intake.pages.rendering import page, templates
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
    try:
        url = await intake.staff.sso.start(jurisdiction_id, now=_now())
    except NoProvider:
        return _sign_in_page(request, _language(request, lang), status_code=404)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@console_router.get(
    "/sso/callback",
    response_class=Response,
    responses=_html(s303="signed in", s401="refused", s503="the identity provider cannot be reached"),
)
async def sso_callback(request: Request) -> Response:
    intake = _intake(request)
    language = _language(request, None)
    t = console_texts(language)
    if intake.staff is None:
        raise RuntimeError("staff sign-in needs intake's database")
    try:
        token = await intake.staff.sso.callback(dict(request.query_params), now=_now())
    except SignInRefused:
        return _sign_in_page(request, language, status_code=401, message=t["refused"])
    except OidcError:
        return _sign_in_page(request, language, status_code=503, message=t["refused"])
    return await _start_session(request, token, language)


@console_router.post(
    "/sign-out",
    response_class=Response,
    responses=_html(s303="signed out: to the sign-in form", s403="the form's CSRF token does not match"),
)
async def sign_out(request: Request, lang: Language = None) -> Response:
    language = _language(request, lang)
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    form = await request.form()
    if not signed.session.csrf_matches(_text(form, "csrf")):
        return Response("the form's CSRF token does not match", status_code=403, media_type="text/html")
    intake = _intake(request)
    if intake.pool is not None:
        await sessions.end_session(intake.pool, signed.session_id)
    log.info("console session closed", extra={"staff_id": str(signed.staff.staff_id)})
    return _to_sign_in(language, ended="signed_out")


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# -- the queue --------------------------------------------------------------------------------------------------------

Views = ("open", "mine", "unassigned", "dormant")


def queue_filters(
    view: str, statuses: list[str], sla_states: list[str], cursor: str | None
) -> list[tuple[str, str]]:
    """The agent view's query for the console's queue: open work (merged duplicates left out) unless statuses
    are chosen; `mine`, `unassigned` or the SLA's `dormant` on top."""
    filters: list[tuple[str, str]] = [("merged", "false"), ("limit", "50")]
    chosen = [s for s in statuses if s in (*OPEN_STATUSES, "closed")]
    filters += [("status", s) for s in chosen or OPEN_STATUSES]
    filters += [("sla_state", s) for s in sla_states if s in SLA_STATES]
    if view == "mine":
        filters.append(("mine", "true"))
    elif view == "unassigned":
        filters.append(("unassigned", "true"))
    elif view == "dormant":
        filters.append(("dormant", "true"))
    if cursor:
        filters.append(("cursor", cursor))
    return filters


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
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    language = _language(request, lang)
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    if not signed.staff.has_any(frozenset(READS_REQUESTS)):
        return _render(request, "forbidden.html", language, status_code=403, signed=signed)
    settings = _intake(request).settings
    base, timeout = settings.console_projections_url, settings.console_upstream_timeout_s
    token = signed.session.access_token
    items: list[dict[str, Any]] = []
    next_cursor = counts = None
    problem = None
    try:
        counts = await upstream.counts(base, token, timeout)
        items, next_cursor = await upstream.queue(
            base, token, timeout, queue_filters(view, status or [], sla_state or [], cursor)
        )
    except upstream.SignedOut:
        return _not_signed_in(request, language)
    except upstream.Unavailable:
        problem = "no_projections" if not base else "view_unavailable"
    next_link = _link(QUEUE_PATH, language, view=view, cursor=next_cursor) if next_cursor else None
    return _render(
        request,
        "queue.html",
        language,
        status_code=503 if problem == "view_unavailable" else 200,
        signed=signed,
        items=items,
        counts=counts,
        problem=problem,
        view=view,
        statuses=status or [],
        sla_states=sla_state or [],
        all_statuses=(*OPEN_STATUSES, "closed"),
        all_sla_states=SLA_STATES,
        views=Views,
        next_link=next_link,
    )


# -- a request --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """An action's form shown again with what the notifier says it would send, before it is saved."""

    action: str
    key: str  # the form's Idempotency-Key, kept: saving after a preview is the same action
    values: Mapping[str, str]
    messages: list[dict[str, Any]]
    unavailable: bool = False


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
) -> Response:
    intake = _intake(request)
    settings = intake.settings
    try:
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
    policy = intake.work_policy
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
        can_work=signed.staff.has_any(frozenset(WORKS_REQUESTS)),
        close_reasons=policy.close_reasons,
        reopen_reasons=policy.reopen_reasons,
        keys={action: f"console-{new_event_id()}" for action in ACTIONS}
        | ({previewed.action: previewed.key} if previewed else {}),
        previewed=previewed,
        preview_offered=bool(settings.console_notifier_url),
        history=_history_rows(found["history"]) if found else [],
    )


def _history_rows(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event as the page lists it: when, what, by whom, and its payload's plain values."""
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
                "actor": f"{actor.get('kind')}: {actor.get('id')}" if actor.get("id") else actor.get("kind"),
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
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    if not signed.staff.has_any(frozenset(READS_REQUESTS)):
        return _render(request, "forbidden.html", language, status_code=403, signed=signed)
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
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    form = await request.form()
    if not signed.session.csrf_matches(_text(form, "csrf")):
        return Response("the form's CSRF token does not match", status_code=403, media_type="text/html")
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
    settings = _intake(request).settings
    proposed = proposed_event(action, fields, status_now=fields.get("status_now", ""))
    messages: list[dict[str, Any]] = []
    unavailable = False
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
        action, key if _KEY.match(key) else f"console-{new_event_id()}", kept, messages, unavailable
    )
    return await _request_page(request, signed, language, number, previewed=previewed)


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
    signed = await _signed_in(request)
    if signed is None:
        return _not_signed_in(request, language)
    if not signed.staff.has_any(frozenset(READS_REQUESTS)):
        return _render(request, "forbidden.html", language, status_code=403, signed=signed)
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
