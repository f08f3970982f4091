"""selfheal: run now, the latest runs, whether the cron token is set."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from civicloop_intake.admin_pages import selfheal
from civicloop_intake.admin_pages.common import (
    ADMIN_PATH,
    AdminPost,
    Language,
    _admin,
    _render,
    admin_router,
    ask_upstream,
    posted_by_admin,
    read_upstream,
)
from civicloop_intake.console.routes import (
    SignedIn,
    _html,
    _intake,
    _language,
)

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
        read = await read_upstream(
            request,
            language,
            selfheal.latest_runs(base, signed.session.access_token, settings.console_upstream_timeout_s),
            unavailable="selfheal_unavailable",
            problem=problem,
            status_code=status_code,
        )
        if isinstance(read, Response):
            return read
        listed, problem, status_code = read
        runs = listed or []
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
    posted = await posted_by_admin(request, lang)
    if not isinstance(posted, AdminPost):
        return posted
    settings = posted.settings
    page = partial(_selfheal_page, request, posted.signed, posted.language)
    return await ask_upstream(
        posted,
        selfheal.run_now(settings.admin_selfheal_url, posted.token, settings.admin_selfheal_timeout_s),
        then=lambda report: page(report=report),
        again=page,
        unavailable="selfheal_unavailable",
        refusals={selfheal.Busy: (409, "selfheal_busy")},
    )
