"""The catalogue: the gateway's services, define and withdraw; a service's page, its questions (attributes) added,
edited and removed (the gateway's admin API)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.responses import Response

from civicloop_intake.admin_pages import attributes, catalogue
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
from civicloop_intake.console.routes import (
    SignedIn,
    _html,
    _intake,
    _language,
)

# -- the catalogue ----------------------------------------------------------------------------------------------------

CATALOGUE_PAGE = f"{ADMIN_PATH}/catalogue"
ServiceCode = Annotated[
    str, PathParam(max_length=64, pattern=r"^[\w\-.]+$", description="the service's code")
]
SERVICE_FIELDS = ("service_code", "service_name", "description", "group", "keywords")


async def _services(
    request: Request, signed: SignedIn, language: str, problem: str | None, status_code: int
) -> tuple[list[dict[str, Any]] | None, str | None, int] | Response:
    """The jurisdiction's catalogue as the gateway holds it, read with the admin's token (`read_upstream`)."""
    settings = _intake(request).settings
    return await read_upstream(
        request,
        language,
        catalogue.services(
            settings.admin_gateway_url,
            signed.session.access_token,
            settings.console_upstream_timeout_s,
            signed.staff.jurisdiction_id,
        ),
        unavailable="gateway_unavailable",
        problem=problem,
        status_code=status_code,
    )


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
    found: list[dict[str, Any]] = []
    if settings.admin_gateway_url:
        read = await _services(request, signed, language, problem, status_code)
        if isinstance(read, Response):
            return read
        listed, problem, status_code = read
        found = listed or []
    return _render(
        request,
        "admin_catalogue.html",
        language,
        status_code=status_code,
        signed=signed,
        section="catalogue",
        configured=bool(settings.admin_gateway_url),
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


async def _catalogue_change(posted: AdminPost, change: Awaitable[None], done: str, typed: Any) -> Response:
    return await ask_upstream(
        posted,
        change,
        then=lambda _: done_to(CATALOGUE_PAGE, posted, done),
        again=partial(_catalogue_page, posted.request, posted.signed, posted.language, typed=typed),
        unavailable="gateway_unavailable",
        refusals={catalogue.Refused: (409, None)},
    )


_CATALOGUE_ANSWERS = _html(
    s303="done: to the catalogue page (or, not signed in, to sign-in)",
    s403="the form's CSRF token does not match, or the staff member is not an admin",
    s409="refused by the gateway (a code in use, a field out of bounds): the page again, with why",
    s503="the gateway cannot be reached: the page says so",
)


@admin_router.post("/catalogue/services", response_class=Response, responses=_CATALOGUE_ANSWERS)
async def define_service(request: Request, lang: Language = None) -> Response:
    """A new service of the catalogue (`ServiceDefined` on `jurisdiction.config`, by the gateway)."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    typed = {name: _field(posted.form, name, 2000) for name in SERVICE_FIELDS}
    service = {
        "service_code": typed["service_code"],
        "service_name": typed["service_name"],
        "description": typed["description"],
        "group": typed["group"],
        "keywords": [k.strip() for k in typed["keywords"].split(",") if k.strip()],
    }
    settings = posted.settings
    change = catalogue.define(
        settings.admin_gateway_url,
        posted.token,
        settings.console_upstream_timeout_s,
        posted.signed.staff.jurisdiction_id,
        service,
    )
    return await _catalogue_change(posted, change, "defined", typed)


@admin_router.post(
    "/catalogue/services/{code}/withdraw", response_class=Response, responses=_CATALOGUE_ANSWERS
)
async def withdraw_service(request: Request, code: ServiceCode, lang: Language = None) -> Response:
    """The service withdrawn (no longer offered to residents; its definition kept)."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    settings = posted.settings
    change = catalogue.withdraw(
        settings.admin_gateway_url,
        posted.token,
        settings.console_upstream_timeout_s,
        posted.signed.staff.jurisdiction_id,
        code,
    )
    return await _catalogue_change(posted, change, "withdrawn", {})


# -- a service's questions --------------------------------------------------------------------------------------------

Order = Annotated[int, PathParam(ge=1, le=100_000, description="the question's place in the service")]


def _service_path(code: str) -> str:
    return f"{CATALOGUE_PAGE}/services/{code}"


async def _service_page(
    request: Request,
    signed: SignedIn,
    language: str,
    code: str,
    *,
    done: str | None = None,
    problem: str | None = None,
    refusal: str | None = None,
    status_code: int = 200,
    typed: Mapping[str, str] | None = None,
    typed_for: int | None = None,
) -> Response:
    """`typed` (with `typed_for`, the question's order, or None for a new one): what a refused form held."""
    settings = _intake(request).settings
    found: dict[str, Any] | None = None
    if settings.admin_gateway_url:
        read = await _services(request, signed, language, problem, status_code)
        if isinstance(read, Response):
            return read
        listed, problem, status_code = read
        if listed is not None:
            found = next((s for s in listed if s["service_code"] == code), None)
            if found is None:
                problem, status_code = "no_such_service", 404
    else:
        problem, status_code = "gateway_not_configured", 503
    questions = sorted((found or {}).get("attributes") or [], key=lambda a: a["order"])
    return _render(
        request,
        "admin_service.html",
        language,
        status_code=status_code,
        signed=signed,
        section="catalogue",
        code=code,
        service=found,
        questions=[
            {**q, "typed": typed if typed is not None and typed_for == q["order"] else attributes.typed_of(q)}
            for q in questions
        ],
        new=typed if typed is not None and typed_for is None else attributes.typed_of({}),
        datatypes=attributes.DATATYPES,
        done=done if done in ("question_added", "question_changed", "question_removed") else None,
        problem=problem,
        refusal=refusal,
    )


@admin_router.get(
    "/catalogue/services/{code}",
    response_class=Response,
    responses=_html(
        s200="the service's questions, each with a form to change or remove it, and a form to add one",
        s303="not signed in: to sign-in",
        s403="the staff member is not an admin",
        s404="no such service: the page says so",
        s503="the gateway cannot be reached (or is not configured): the page says so",
    ),
)
async def service_page(
    request: Request,
    code: ServiceCode,
    lang: Language = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    language = _language(request, lang)
    signed = await _admin(request, language)
    if not isinstance(signed, SignedIn):
        return signed
    return await _service_page(request, signed, language, code, done=done)


_QUESTION_ANSWERS = _html(
    s303="done: to the service's page (or, not signed in, to sign-in)",
    s403="the form's CSRF token does not match, or the staff member is not an admin",
    s404="no such service",
    s409="refused by the gateway (a code in use, a list without answers...), or the question changed meanwhile: "
    "the page again, with why and what was typed",
    s503="the gateway cannot be reached: the page says so",
)


class _NoSuchService(Exception):
    """The service is not (any more) in the jurisdiction's catalogue."""


async def _change_questions(
    request: Request, code: str, order: int | None, lang: str | None, change: str
) -> Response:
    """`change` is `added`, `changed` or `removed`: the service's definition as listed now, the question added,
    replaced or removed, the whole definition put back (the gateway checks it and publishes it)."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    typed = {name: _field(posted.form, name, 4000) for name in attributes.FORM_FIELDS}
    settings = posted.settings
    access = (settings.admin_gateway_url, posted.token, settings.console_upstream_timeout_s)
    jurisdiction_id = posted.signed.staff.jurisdiction_id

    async def put_back() -> None:
        listed = await catalogue.services(*access, jurisdiction_id)
        service = next((s for s in listed if s["service_code"] == code), None)
        if service is None:
            raise _NoSuchService(code)
        was = _field(posted.form, "was", 64)
        if order is None:
            fields = attributes.with_added(service, typed)
        elif change == "changed":
            fields = attributes.with_replaced(service, order, was, typed)
        else:
            fields = attributes.without(service, order, was)
        await catalogue.replace(*access, jurisdiction_id, code, fields)

    return await ask_upstream(
        posted,
        put_back(),
        then=lambda _: done_to(_service_path(code), posted, f"question_{change}"),
        again=partial(
            _service_page,
            request,
            posted.signed,
            posted.language,
            code,
            typed=typed if change != "removed" else None,
            typed_for=order,
        ),
        unavailable="gateway_unavailable",
        refusals={
            _NoSuchService: (404, "no_such_service"),
            attributes.Stale: (409, "question_changed_meanwhile"),
            catalogue.Refused: (409, None),
        },
    )


@admin_router.post(
    "/catalogue/services/{code}/questions", response_class=Response, responses=_QUESTION_ANSWERS
)
async def add_question(request: Request, code: ServiceCode, lang: Language = None) -> Response:
    """A question added at the end of the service's (a new definition of the service on `jurisdiction.config`)."""
    return await _change_questions(request, code, None, lang, "added")


@admin_router.post(
    "/catalogue/services/{code}/questions/{order}", response_class=Response, responses=_QUESTION_ANSWERS
)
async def change_question(
    request: Request, code: ServiceCode, order: Order, lang: Language = None
) -> Response:
    """The question at `order` replaced by the form's (its code, kind, whether required, text and answers)."""
    return await _change_questions(request, code, order, lang, "changed")


@admin_router.post(
    "/catalogue/services/{code}/questions/{order}/remove",
    response_class=Response,
    responses=_QUESTION_ANSWERS,
)
async def remove_question(
    request: Request, code: ServiceCode, order: Order, lang: Language = None
) -> Response:
    """The question at `order` removed (reports already made keep their answers)."""
    return await _change_questions(request, code, order, lang, "removed")
