"""Load shedding in the app skeleton: a bound on requests in flight, a deadline, and a client that leaves, each
answered (or dropped) at once, in the service's own error format, while the ops routes keep answering."""

from __future__ import annotations

import asyncio
import socket
import threading
from urllib.parse import urlsplit

import httpx
from asgi_lifespan import LifespanManager
from civicloop_runtime.app import Shed, service_app
from civicloop_runtime.ops import Check
from civicloop_testing.polling import eventually
from civicloop_testing.threaded_server import serve_in_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse


class Running:
    def readiness_checks(self) -> dict[str, Check]:
        return {}

    async def close(self) -> None:
        pass


class Handlers:
    """A route that waits until released, noting how each call ended."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = 0
        self.finished = 0
        self.cancelled = 0
        self.router = APIRouter()
        self.router.post("/slow")(self.slow)

    async def slow(self, request: Request) -> dict[str, int]:
        await request.body()
        self.started += 1
        try:
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return {"ok": 1}


def service_error(request: Request, status: int, error: str, detail: str) -> Response:
    return JSONResponse({"problem": error, "detail": detail}, status_code=status)


def app_with(handlers: Handlers, **shed: float):
    async def start() -> Running:
        return Running()

    bounds = {"max_in_flight": 100, "deadline_s": 30.0, "retry_after_s": 2.0} | shed
    return service_app(
        title="t",
        version="1",
        start=start,
        routers=(handlers.router,),
        render_error=service_error,
        shedding=Shed(**bounds),  # type: ignore[arg-type]
    )


async def test_requests_beyond_the_bound_in_flight_are_answered_503_at_once_and_ops_routes_still_answer():
    handlers = Handlers()
    app = app_with(handlers, max_in_flight=2)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c,
    ):
        busy = [asyncio.create_task(c.post("/slow", content=b"x")) for _ in range(2)]
        await eventually(lambda: _true(handlers.started == 2), what="two requests in flight")
        refused = await c.post("/slow", content=b"x")
        health = await c.get("/healthz")
        handlers.release.set()
        answered = await asyncio.gather(*busy)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
    assert refused.json()["problem"] == "overloaded"
    assert health.status_code == 200
    assert [r.status_code for r in answered] == [200, 200] and handlers.started == 2


async def test_a_request_past_its_deadline_is_cancelled_and_answered_503_with_retry_after():
    handlers = Handlers()
    app = app_with(handlers, deadline_s=0.3, retry_after_s=1.2)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as c,
    ):
        response = await c.post("/slow", content=b"x")
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.json()["problem"] == "deadline_exceeded" and "0.3s" in response.json()["detail"]
    assert (handlers.cancelled, handlers.finished) == (1, 0)


async def test_the_handler_of_a_client_that_disconnected_is_cancelled():
    handlers = Handlers()
    with serve_in_thread(app_with(handlers), lifespan="on") as url:
        address = urlsplit(url)
        with socket.create_connection((address.hostname, address.port)) as client:
            client.sendall(b"POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")
            await eventually(lambda: _true(handlers.started == 1), what="the request to be handled")
        await eventually(lambda: _true(handlers.cancelled == 1), what="the handler to be cancelled")
        handlers.release.set()
        async with httpx.AsyncClient(base_url=url) as c:  # the server goes on serving others
            assert (await c.post("/slow", content=b"y")).status_code == 200
    assert handlers.finished == 1


async def test_a_request_that_completes_is_not_cancelled_by_its_own_end():
    handlers = Handlers()
    handlers.release.set()
    with serve_in_thread(app_with(handlers), lifespan="on") as url:
        async with httpx.AsyncClient(base_url=url) as c:
            answers = [await c.post("/slow", content=b"x") for _ in range(5)]  # one kept-alive connection
    assert [a.status_code for a in answers] == [200] * 5
    assert (handlers.finished, handlers.cancelled) == (5, 0)


async def _true(value: bool) -> bool:
    return value
