"""Posters: the builder over intake's poster route, and which posters work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from civicloop_intake.admin_pages.common import (
    AdminPost,
    Language,
    _admin,
    _call_intake,
    _field,
    _render,
    admin_router,
    posted_by_admin,
)
from civicloop_intake.console.actions import refusal_text
from civicloop_intake.console.routes import (
    SignedIn,
    _html,
    _language,
    _not_signed_in,
)
from civicloop_intake.domain.posters import PosterKind

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
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    signed, language, form = posted.signed, posted.language, posted.form
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
