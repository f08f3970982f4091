"""The catalogue: the gateway's services, define and withdraw (its admin API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from civicloop_intake.admin_pages import catalogue
from civicloop_intake.admin_pages.common import (
    ADMIN_PATH,
    Language,
    _admin,
    _csrf_refused,
    _field,
    _render,
    admin_router,
)
from civicloop_intake.console.routes import (
    SignedIn,
    _html,
    _intake,
    _language,
    _link,
    _not_signed_in,
)
from civicloop_intake.console.upstream import SignedOut, Unavailable

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
