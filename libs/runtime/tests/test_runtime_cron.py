"""`require_cron_or_staff`: the cron token (compared in constant time) or the staff check, on a small app."""

# No `from __future__ import annotations`: FastAPI reads the route's annotations, which name a local.

from typing import Annotated, Any

import httpx
import pytest
from civicloop_runtime.app import json_error
from civicloop_runtime.cron import CRON_TOKEN_HEADER, CronCaller, require_cron_or_staff
from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

TOKEN = "the-cron-token-0123456789"


class Refused(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error = status, error


async def only_the_admin(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """A stand-in for the staff verifier: 'admin' passes, 'agent' is refused its role, anything else unknown."""
    token = credentials.credentials if credentials else ""
    if token == "admin":
        return "admin-1"
    if token == "agent":
        raise Refused(403, "forbidden", "not an admin")
    raise Refused(401, "unauthenticated", "not a valid token")


def app_with(environ: dict[str, str]) -> FastAPI:
    app = FastAPI()
    ran: list[str | None] = []
    app.state.ran = ran
    guard = require_cron_or_staff("selfheal.cron-token", only_the_admin, refused=Refused, environ=environ)

    @app.post("/api/cron/run")
    async def run(caller: Annotated[CronCaller[str], Depends(guard)]) -> dict[str, Any]:
        ran.append(caller.staff)
        return {"by_cron": caller.by_cron, "staff": caller.staff}

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return json_error(request, exc.status, exc.error, str(exc))

    app.add_exception_handler(Refused, refused)
    return app


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({CRON_TOKEN_HEADER: "wrong"}, 403),
        ({CRON_TOKEN_HEADER: TOKEN[:-1]}, 403),
        ({"Authorization": "Bearer nonsense"}, 401),
        ({"Authorization": "Bearer agent"}, 403),
        (
            {CRON_TOKEN_HEADER: "wrong", "Authorization": "Bearer admin"},
            403,
        ),  # a wrong cron token is never waved on
    ],
)
async def test_refusals_run_nothing(headers: dict[str, str], status: int) -> None:
    app = app_with({"CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN": TOKEN})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.post("/api/cron/run", headers=headers)).status_code == status
    assert app.state.ran == []


async def test_the_cron_token_or_an_admin_is_admitted() -> None:
    app = app_with({"CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN": TOKEN})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        by_cron = await client.post("/api/cron/run", headers={CRON_TOKEN_HEADER: TOKEN})
        by_admin = await client.post("/api/cron/run", headers={"Authorization": "Bearer admin"})
    assert by_cron.json() == {"by_cron": True, "staff": None}
    assert by_admin.json() == {"by_cron": False, "staff": "admin-1"}


async def test_with_no_token_set_every_cron_call_is_refused() -> None:
    app = app_with({})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.post("/api/cron/run", headers={CRON_TOKEN_HEADER: ""})).status_code == 403
        assert (await client.post("/api/cron/run", headers={CRON_TOKEN_HEADER: TOKEN})).status_code == 403
    assert app.state.ran == []
