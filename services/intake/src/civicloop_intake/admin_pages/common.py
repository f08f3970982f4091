"""What every admin page shares: the router under `/console/admin`, the admin-only check on top of the console's
session, rendering with the console's layout and texts, in-process calls to intake's own API, and form fields."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
from civicloop_staff.roles import MANAGES_STAFF
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from civicloop_intake.admin_pages.texts import admin_texts
from civicloop_intake.console.routes import (
    CONSOLE_PATH,
    STATIC_PATH,
    SignedIn,
    _not_signed_in,
    _signed_in,
)
from civicloop_intake.console.routes import HERE as CONSOLE_HERE
from civicloop_intake.console.texts import console_texts
from civicloop_intake.pages.rendering import page, templates

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
