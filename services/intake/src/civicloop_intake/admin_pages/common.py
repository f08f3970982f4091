"""What every admin page shares: the router under `/console/admin`, the admin-only check on top of the console's
session, rendering with the console's layout and texts, in-process calls to intake's own API, and form fields.

Asking another service with the admin's own token has one shape, written once here. A page's read
(`read_upstream`): its answer; signed out there, to sign-in; unreachable, the page says so (503). A change the admin
posts: the admin and their form (`posted_by_admin`: the CSRF token checked), then the service asked
(`ask_upstream`): done, the next page; signed out there, to sign-in; unreachable or refusing, the section's page
again saying why."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
from civicloop_staff.roles import MANAGES_STAFF
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from civicloop_intake.admin_pages.texts import admin_texts
from civicloop_intake.console.routes import (
    CONSOLE_PATH,
    STATIC_PATH,
    SignedIn,
    _intake,
    _language,
    _link,
    _not_signed_in,
    _signed_in,
)
from civicloop_intake.console.routes import HERE as CONSOLE_HERE
from civicloop_intake.console.texts import console_texts
from civicloop_intake.console.upstream import SignedOut, Unavailable
from civicloop_intake.pages.rendering import page, templates
from civicloop_intake.settings import IntakeSettings

HERE = Path(__file__).parent
ADMIN_PATH = f"{CONSOLE_PATH}/admin"
ADMIN_STATIC_DIR = HERE / "static"
ADMIN_STATIC_PATH = "/static/admin"

admin_router = APIRouter(prefix=ADMIN_PATH, tags=["admin pages"])
_templates = templates(HERE / "templates", CONSOLE_HERE / "templates")

Language = Annotated[str | None, Query(alias="lang", max_length=35)]


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


def _chosen(form: FormData, name: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    values = [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]
    return [v for v in values if allowed is None or v in allowed][:50]


def _field(form: FormData, name: str, limit: int = 400) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


T = TypeVar("T")


@dataclass(frozen=True)
class AdminPost:
    """A form an admin posted to an admin page, its CSRF token checked: who, in which language, what they sent."""

    request: Request
    signed: SignedIn
    language: str
    form: FormData

    @property
    def settings(self) -> IntakeSettings:
        return _intake(self.request).settings

    @property
    def token(self) -> str:
        """The admin's own access token: what another service is asked with."""
        return self.signed.session.access_token


async def posted_by_admin(request: Request, lang: str | None) -> AdminPost | Response:
    """The admin and their form; or the answer for anyone else (to sign-in, or the 403 page), or for a form whose
    CSRF token does not match (403)."""
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not signed.session.csrf_matches(_field(form, "csrf")):
        return _csrf_refused()
    return AdminPost(request, signed, language, form)


def done_to(path: str, posted: AdminPost, done: str) -> RedirectResponse:
    """After a change: the section's page, saying what was done (POST, redirect, GET)."""
    return RedirectResponse(_link(path, posted.language, done=done), status_code=303)


async def ask_upstream(
    posted: AdminPost,
    call: Awaitable[T],
    *,
    then: Callable[[T], Response | Awaitable[Response]],
    again: Callable[..., Awaitable[Response]],
    unavailable: str,
    refusals: Mapping[type[Exception], tuple[int, str | None]] | None = None,
) -> Response:
    """`call` (another service, asked with the admin's token) and the answer: `then` its result; signed out there,
    to sign-in; unreachable, `again` (the section's page) with the `unavailable` problem (503); a refusal of
    `refusals`' kinds, `again` with its status and problem (None: the refusal's own words, shown as such)."""
    try:
        result = await call
    except SignedOut:
        return _not_signed_in(posted.request, posted.language)
    except Unavailable:
        return await again(problem=unavailable, status_code=503)
    except tuple(refusals or ()) as refused:
        status_code, problem = next(v for k, v in (refusals or {}).items() if isinstance(refused, k))
        why = {"problem": problem} if problem else {"refusal": str(refused)}
        return await again(status_code=status_code, **why)
    answer = then(result)
    return await answer if inspect.isawaitable(answer) else answer


async def read_upstream(
    request: Request,
    language: str,
    call: Awaitable[T],
    *,
    unavailable: str,
    problem: str | None = None,
    status_code: int = 200,
) -> tuple[T | None, str | None, int] | Response:
    """A page's read of another service, asked with the admin's token: its answer (None when unreachable), and the
    page's problem and status (the `unavailable` problem and 503 when unreachable, unless the page has one already);
    or, signed out there, the answer that sends the admin to sign in."""
    try:
        return await call, problem, status_code
    except SignedOut:
        return _not_signed_in(request, language)
    except Unavailable:
        return None, problem or unavailable, 503 if status_code == 200 else status_code
