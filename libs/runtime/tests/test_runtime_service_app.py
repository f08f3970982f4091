"""The app factory: ops endpoints, the running service's readiness, a path-only request log, the body limit answered
in the service's format, the rate-limit slot, and a lifespan that closes what bootstrap opened."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from asgi_lifespan import LifespanManager
from civicloop_runtime.app import running_service, service_app
from civicloop_runtime.ops import Check
from civicloop_testing.observability import captured_output
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

router = APIRouter()


class Running:
    def __init__(self) -> None:
        self.closed = False

    def readiness_checks(self) -> dict[str, Check]:
        async def fine() -> bool:
            return True

        return {"database": fine}

    async def close(self) -> None:
        self.closed = True


@router.post("/echo")
async def echo(request: Request, service: Annotated[Running, Depends(running_service)]) -> dict[str, int]:
    return {"bytes": len(await request.body())}


def open311_error(request: Request, status: int, error: str, detail: str) -> Response:
    return JSONResponse([{"code": status, "description": detail}], status_code=status)


async def app_client(**options) -> AsyncIterator[tuple[httpx.AsyncClient, Running]]:
    running = Running()

    async def start() -> Running:
        return running

    app = service_app(title="t", version="1", start=start, routers=(router,), **options)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, running
    assert running.closed


async def test_ops_endpoints_answer_from_the_running_service():
    async for client, _ in app_client():
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": True}
        assert (await client.get("/metrics")).status_code == 200


async def test_the_request_log_holds_the_path_and_never_the_query():
    with captured_output("t") as out:
        async for client, _ in app_client():
            await client.post("/echo?api_key=k-77&phone=2025550143", content=b"{}")
            await client.get("/healthz")
    [line] = [entry for entry in out.log_lines() if entry["message"] == "request"]
    assert {k: line[k] for k in ("method", "path", "status")} == {
        "method": "POST",
        "path": "/echo",
        "status": 200,
    }
    assert "k-77" not in out.text() and "2025550143" not in out.text()


async def test_a_declared_body_over_the_limit_is_413_in_the_service_s_format():
    async for client, _ in app_client(max_body_bytes=1_024, render_error=open311_error):
        r = await client.post("/echo", content=b"x" * 2_000)
        assert r.status_code == 413
        assert r.json() == [{"code": 413, "description": "the request body is larger than 1024 bytes"}]
        assert (await client.post("/echo", content=b"x" * 1_000)).json() == {"bytes": 1_000}


async def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit():
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 512

    async for client, _ in app_client(max_body_bytes=2_048):
        r = await client.post("/echo", content=chunks())
        assert r.status_code == 413
        assert r.json()["error"] == "payload_too_large"


async def test_the_rate_limit_slot_answers_instead_of_the_route_but_never_for_ops():
    async def limit(request: Request) -> Response | None:
        return PlainTextResponse("slow down", status_code=429) if request.url.path == "/echo" else None

    async for client, _ in app_client(rate_limit=limit):
        assert (await client.post("/echo", content=b"{}")).status_code == 429
        assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_503_before_the_service_runs():
    app = service_app(title="t", version="1", start=None, routers=(router,))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/readyz")).status_code == 503
