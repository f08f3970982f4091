"""Bodies: what is queued per body, pause and resume, a given-up report requeued (outbound's admin API)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.responses import Response

from civicloop_intake.admin_pages import outbound
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
        access = (base, signed.session.access_token, settings.console_upstream_timeout_s)

        async def with_given_up() -> list[dict[str, Any]]:
            bodies = await outbound.bodies(*access)
            for body in bodies:
                body["given_up_reports"] = (
                    await outbound.given_up(*access, body["body_id"]) if body.get("given_up") else []
                )
            return bodies

        read = await read_upstream(
            request,
            language,
            with_given_up(),
            unavailable="outbound_unavailable",
            problem=problem,
            status_code=status_code,
        )
        if isinstance(read, Response):
            return read
        listed, problem, status_code = read
        found = listed or []
    return _render(
        request,
        "admin_bodies.html",
        language,
        status_code=status_code,
        signed=signed,
        section="bodies",
        configured=bool(base),
        bodies=found,
        done=done if done in ("paused", "resumed", "requeued") else None,
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
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    if change not in ("pause", "resume"):
        return Response("no such change", status_code=404, media_type="text/html")
    settings = posted.settings
    done = "paused" if change == "pause" else "resumed"
    return await ask_upstream(
        posted,
        outbound.pause_or_resume(
            settings.admin_outbound_url,
            posted.token,
            settings.console_upstream_timeout_s,
            body_id,
            pause=change == "pause",
            reason=_field(posted.form, "reason", 200),
        ),
        then=lambda _: done_to(BODIES_PAGE, posted, done),
        again=partial(_bodies_page, request, posted.signed, posted.language),
        unavailable="outbound_unavailable",
        refusals={outbound.NoSuchBody: (404, "no_such_body")},
    )


RequestId = Annotated[str, PathParam(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="the request")]


@admin_router.post(
    "/bodies/{body_id}/given-up/{request_id}/requeue",
    response_class=Response,
    responses=_html(
        s303="done: to the bodies page (or, not signed in, to sign-in)",
        s403="the form's CSRF token does not match, or the staff member is not an admin",
        s404="no such body in the admin's jurisdiction",
        s409="the report is not given up (any more): the page says so",
        s503="outbound cannot be reached: the page says so",
    ),
)
async def requeue_report(
    request: Request, body_id: BodyId, request_id: RequestId, lang: Language = None
) -> Response:
    """Outbound's requeue of the request's given-up report to the body (fresh attempts, its place in the order)."""
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    settings = posted.settings
    return await ask_upstream(
        posted,
        outbound.requeue(
            settings.admin_outbound_url,
            posted.token,
            settings.console_upstream_timeout_s,
            body_id,
            request_id,
        ),
        then=lambda _: done_to(BODIES_PAGE, posted, "requeued"),
        again=partial(_bodies_page, request, posted.signed, posted.language),
        unavailable="outbound_unavailable",
        refusals={
            outbound.NoSuchBody: (404, "no_such_body"),
            outbound.NothingGivenUp: (409, "nothing_given_up"),
        },
    )
