"""Partners' Open311 keys: the jurisdiction's partner clients and their keys, a new key (shown once), a rotation (a
new key for the client, then the old one revoked), a key revoked; through the gateway's admin API."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.responses import Response

from civicloop_intake.admin_pages import partners
from civicloop_intake.admin_pages.common import (
    ADMIN_PATH,
    AdminPost,
    Language,
    _admin,
    _field,
    _render,
    admin_router,
    ask_upstream,
    done_to,
    posted_by_admin,
    read_upstream,
)
from civicloop_intake.console.routes import SignedIn, _html, _intake, _language

PARTNERS_PAGE = f"{ADMIN_PATH}/partners"
Slug = Annotated[str, PathParam(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


def _clients(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The keys grouped per client, in the gateway's order: each client's name and its keys."""
    grouped: dict[str, dict[str, Any]] = {}
    for key in keys:
        client = grouped.setdefault(
            key["client_id"], {"client_id": key["client_id"], "name": key["name"], "keys": []}
        )
        client["keys"].append(key)
    return list(grouped.values())


async def _partners_page(
    request: Request,
    signed: SignedIn,
    language: str,
    *,
    issued: Mapping[str, Any] | None = None,
    done: str | None = None,
    problem: str | None = None,
    refusal: str | None = None,
    status_code: int = 200,
    typed: Mapping[str, Any] | None = None,
) -> Response:
    settings = _intake(request).settings
    base = settings.admin_gateway_url
    keys: list[dict[str, Any]] = []
    if base:
        read = await read_upstream(
            request,
            language,
            partners.keys(
                base,
                signed.session.access_token,
                settings.console_upstream_timeout_s,
                signed.staff.jurisdiction_id,
            ),
            unavailable="gateway_unavailable",
            problem=problem,
            status_code=status_code,
        )
        if isinstance(read, Response):
            return read
        listed, problem, status_code = read
        keys = listed or []
    return _render(
        request,
        "admin_partners.html",
        language,
        status_code=status_code,
        signed=signed,
        section="partners",
        configured=bool(base),
        clients=_clients(keys),
        issued=issued,
        done=done if done == "revoked" else None,
        problem=problem,
        refusal=refusal,
        typed=typed or {},
    )


@admin_router.get(
    "/partners",
    response_class=Response,
    responses=_html(
        s200="the partner clients and their keys (never a key's value), a form for a new key",
        s303="not signed in: to sign-in",
        s403="the staff member is not an admin",
        s503="the gateway cannot be reached: the page says so",
    ),
)
async def partners_page(
    request: Request, lang: Language = None, done: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return await _partners_page(request, signed, language, done=done)


@admin_router.post(
    "/partners/keys",
    response_class=Response,
    responses=_html(
        s200="the new key, shown this once",
        s303="not signed in: to sign-in",
        s403="the form's CSRF token does not match, or the staff member is not an admin",
        s409="refused by the gateway (a client id it does not take): the page again, with why",
        s503="the gateway cannot be reached: the page says so",
    ),
)
async def issue_key(request: Request, lang: Language = None) -> Response:
    """A new key for a partner client (new, or rotating: the old key stays until it is revoked). The answer is the
    page with the key, never cached, and intake keeps no copy."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    typed = {"client_id": _field(posted.form, "client_id", 64), "name": _field(posted.form, "name", 200)}
    settings = posted.settings
    page = partial(_partners_page, request, posted.signed, posted.language)
    return await ask_upstream(
        posted,
        partners.new_key(
            settings.admin_gateway_url,
            posted.token,
            settings.console_upstream_timeout_s,
            posted.signed.staff.jurisdiction_id,
            typed["client_id"],
            typed["name"],
        ),
        then=lambda issued: page(issued=issued),
        again=partial(page, typed=typed),
        unavailable="gateway_unavailable",
        refusals={partners.Refused: (409, None)},
    )


@admin_router.post(
    "/partners/{client_id}/keys/{key_id}/revoke",
    response_class=Response,
    responses=_html(
        s303="done: to the partners page (or, not signed in, to sign-in)",
        s403="the form's CSRF token does not match, or the staff member is not an admin",
        s409="refused by the gateway (no such key, or revoked already): the page again, with why",
        s503="the gateway cannot be reached: the page says so",
    ),
)
async def revoke_key(request: Request, client_id: Slug, key_id: Slug, lang: Language = None) -> Response:
    """The key refused from when the gateway applied the revocation."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    settings = posted.settings
    return await ask_upstream(
        posted,
        partners.revoke(
            settings.admin_gateway_url,
            posted.token,
            settings.console_upstream_timeout_s,
            posted.signed.staff.jurisdiction_id,
            client_id,
            key_id,
        ),
        then=lambda _: done_to(PARTNERS_PAGE, posted, "revoked"),
        again=partial(_partners_page, request, posted.signed, posted.language),
        unavailable="gateway_unavailable",
        refusals={partners.Refused: (409, None)},
    )
