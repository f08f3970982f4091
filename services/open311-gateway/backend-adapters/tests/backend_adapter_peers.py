"""Real peers for the adapter tests, on 127.0.0.1: a work-order API (ASGI under uvicorn, bearer auth checked), a
static HTTP file server for CSV exports, and a runner that serves any ASGI app under uvicorn on a free port."""

from __future__ import annotations

import asyncio
import base64
import functools
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from civicloop_testing.threaded_server import serve_in_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

TOKEN = "wo-secret-token"
USER = "civicloop"


def serve_asgi(app: Any) -> AbstractContextManager[str]:
    """`app` (its lifespan run) under uvicorn on 127.0.0.1:<free port> in a thread; yields its base URL."""
    return serve_in_thread(app, lifespan="on")


class WorkOrderBackend:
    """A work-order system with its own JSON API: `/api/v1/orders` (create, search by `modified_since`) and
    `/api/v1/orders/{id}` (and `/api/v1/orders/{id}/comments` to add a comment); answers are wrapped (`{"data": ...}`, `{"result": {"orders": [...]}}`)."""

    def __init__(self, auth: str = "bearer") -> None:
        self.auth = auth
        self.orders: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self.searches: list[dict[str, str]] = []
        self.fail_with: int | None = None
        self.delay_s = 0.0
        self._next = 1000
        self.app = self._build()

    def add(self, **order: Any) -> dict[str, Any]:
        self.orders[str(order["wo_number"])] = order
        return order

    def _build(self) -> FastAPI:
        app = FastAPI()

        async def gate(request: Request) -> None:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.fail_with is not None:
                raise HTTPException(self.fail_with, "maintenance")
            expected = {
                "bearer": ("authorization", f"Bearer {TOKEN}"),
                "basic": ("authorization", "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()),
                "api_key": ("x-wo-key", TOKEN),
            }[self.auth]
            if request.headers.get(expected[0]) != expected[1]:
                raise HTTPException(401, "bad token")

        @app.post("/api/v1/orders")
        async def create(request: Request) -> JSONResponse:
            await gate(request)
            body = await request.json()
            self.received.append(body)
            if not body.get("summary"):
                return JSONResponse({"message": "summary is mandatory"}, status_code=422)
            self._next += 1
            number = f"WO-{self._next}"
            self.orders[number] = {
                "wo_number": number,
                "state": "NEW",
                "modified": datetime.now(UTC).isoformat(),
                "remarks": "",
                "category": body.get("classification", {}).get("code"),
                **body,
            }
            return JSONResponse({"data": {"workOrder": {"number": number}}}, status_code=201)

        @app.get("/api/v1/orders")
        async def search(request: Request) -> dict[str, Any]:
            await gate(request)
            params = dict(request.query_params)
            self.searches.append(params)
            since = params.get("modified_since")
            items = list(self.orders.values())
            if since:
                cut = datetime.fromisoformat(since)
                items = [o for o in items if datetime.fromisoformat(o["modified"]) >= cut]
            items.sort(key=lambda o: o["wo_number"])
            if "page" in params:  # page-number paging, `per_page` long
                size = int(params.get("per_page", "100"))
                first = (int(params["page"]) - 1) * size
                items = items[first : first + size]
            elif "after" in params or "limit" in params:  # cursor paging: the cursor is the last number seen
                items = [o for o in items if o["wo_number"] > params.get("after", "")][: int(params["limit"])]
                more = bool(items) and items[-1]["wo_number"] < max(self.orders)
                return {"result": {"orders": items}, "next": items[-1]["wo_number"] if more else None}
            return {"result": {"orders": items, "count": len(items)}}

        @app.post("/api/v1/orders/{number}/comments")
        async def comment(number: str, request: Request) -> JSONResponse:
            await gate(request)
            if number not in self.orders:
                return JSONResponse({"message": "no such order"}, status_code=404)
            comments = self.orders[number].setdefault("comments", [])
            comments.append(await request.json())
            return JSONResponse({"data": {"comment": {"id": f"C-{len(comments)}"}}}, status_code=201)

        @app.get("/api/v1/orders/{number}")
        async def one(number: str, request: Request) -> dict[str, Any]:
            await gate(request)
            if number not in self.orders:
                raise HTTPException(404, "no such order")
            return {"data": self.orders[number]}

        return app


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A plain HTTP file server over `directory`; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
