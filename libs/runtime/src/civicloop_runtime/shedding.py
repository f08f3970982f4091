"""Load shedding for every service's HTTP app: a bound on requests in flight, a deadline, and a client that leaves.

- More than `max_in_flight` requests at once: the next is answered 503 with Retry-After at once, in the service's
  error format, instead of queueing behind the others (and their memory).
- A request still running after `deadline_s` is cancelled and answered 503 with Retry-After (its transaction rolls
  back; a command kept under an Idempotency-Key is answered on retry as if the first attempt had crashed).
- A client that disconnects after sending its request has its handler cancelled: nobody is left to answer.

/healthz, /readyz and /metrics are exempt: an overloaded service must still say so.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from civicloop_runtime.app import ErrorRenderer

IN_FLIGHT = Gauge("civicloop_http_in_flight_requests", "Requests being handled now (ops routes excluded)")
SHED = Counter(
    "civicloop_http_shed_total",
    "Requests answered 503 by the shedding layer, or cancelled because their client left",
    ["reason"],  # overloaded | deadline | client_gone
)


class Shedding:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        deadline_s: float,
        retry_after_s: float,
        render_error: ErrorRenderer,
        exempt: tuple[str, ...],
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.deadline_s = deadline_s
        self.retry_after = str(max(1, math.ceil(retry_after_s)))
        self.render_error = render_error
        self.exempt = exempt
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            SHED.labels("overloaded").inc()
            await self._unavailable(scope, receive, send, "overloaded", "the service is busy; retry later")
            return
        self.in_flight += 1
        IN_FLIGHT.inc()
        try:
            await self._handle(scope, receive, send)
        finally:
            self.in_flight -= 1
            IN_FLIGHT.dec()

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = _Exchange(receive, send)

        async def handle() -> None:
            await self.app(scope, exchange.receive, exchange.send)

        handler = asyncio.create_task(handle())
        exchange.on_client_gone = handler.cancel
        try:
            done, _ = await asyncio.wait({handler}, timeout=self.deadline_s)
            if not done:
                await _cancel(handler)
                SHED.labels("deadline").inc()
                if not exchange.response_started:
                    detail = f"the request did not complete within {self.deadline_s:g}s; retry later"
                    await self._unavailable(scope, receive, send, "deadline_exceeded", detail)
                return
        except asyncio.CancelledError:  # our own task (the server shutting down): take the handler with it
            await _cancel(handler)
            raise
        finally:
            exchange.close()
        if handler.cancelled():
            if exchange.client_gone:
                SHED.labels("client_gone").inc()
            return
        if (error := handler.exception()) is not None:
            raise error

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send, error: str, detail: str) -> None:
        response = self.render_error(Request(scope, receive), 503, error, detail)
        response.headers["Retry-After"] = self.retry_after
        await response(scope, receive, send)


class _Exchange:
    """The handler's receive and send, watching for the client to leave once the request has been read."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.response_started = False
        self.response_done = False
        self.client_gone = False
        self.on_client_gone: Any = None
        self._disconnected = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        if self._watcher is not None:  # the body is read: the watcher owns the server's receive now
            await self._disconnected.wait()
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            self._watcher = asyncio.create_task(self._watch())
        elif message["type"] == "http.disconnect":
            self._disconnected.set()
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.response_started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.response_done = True
        await self._send(message)

    async def _watch(self) -> None:
        # The server answers the next receive with http.disconnect when the client leaves (or once the response
        # is complete, which is not a client leaving).
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self._disconnected.set()
            if not self.response_done and self.on_client_gone is not None:
                self.client_gone = True
                self.on_client_gone()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
