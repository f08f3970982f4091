"""An Open311 back-end (JSON, on 127.0.0.1) that publishes requests late and filters the way the standard says.

Each request and update carries a `published_at` the wire never shows: it is listed only once the server's clock
(`LateState.now`, the test's virtual time; None: the real time) has reached it, whatever its `requested_datetime`.
So a request created days before it appears is invisible to a reader that only ever asks for recent creation dates.

Filters honoured: `start_date`/`end_date` on `requested_datetime` (the last 90 days without them),
`updated_after`/`updated_before` on `updated_datetime` (unless `honours_updated_after` is off),
`service_request_id=a,b,c` overriding the rest (`id_list`: honoured; ignored, or refused with a 400, as some
back-ends do),
`GET requests/{id}`, and `servicerequestupdates` by `updated_datetime` between `start_date` and `end_date`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from civicloop_open311.wire import as_datetime
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DEFAULT_SPAN = timedelta(days=90)


def w3c(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LateState:
    now: datetime | None = None
    honours_updated_after: bool = True
    id_list: str = "honoured"  # honoured | ignored | refused
    reads_by_id_down: bool = False  # reads by id answer 503 (the lists still answer)
    requests: list[dict[str, Any]] = field(default_factory=list)  # wire fields plus `published_at`
    updates: list[dict[str, Any]] = field(default_factory=list)  # wire fields plus `published_at`
    queries: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, query) of every GET

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def publish(self, row: dict[str, Any], at: datetime | None = None) -> None:
        self.requests.append({**row, "published_at": at or self.clock()})

    def publish_update(self, update: dict[str, Any], at: datetime | None = None) -> None:
        self.updates.append({**update, "published_at": at or self.clock()})

    def visible(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = self.clock()
        return [r for r in rows if r["published_at"] <= now]

    def by_id_queries(self) -> list[str]:
        """The ids asked for, one by one (`requests/{id}`) or in lists (`service_request_id`)."""
        asked = [
            path.rsplit("/", 1)[1].removesuffix(".json") for path, _ in self.queries if "/requests/" in path
        ]
        for _, q in self.queries:
            asked += q.get("service_request_id", "").split(",") if q.get("service_request_id") else []
        return asked


def _wire(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (w3c(v) if isinstance(v, datetime) else v) for k, v in row.items() if k != "published_at"}


def _json(rows: list[dict[str, Any]], status: int = 200) -> Response:
    return Response(
        json.dumps([_wire(r) for r in rows]),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )


def _unavailable() -> Response:
    return Response(
        "<html><body>503 Service Unavailable</body></html>",
        status_code=503,
        headers={"Content-Type": "text/html"},
    )


def _between(value: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    return value is not None and (start is None or value >= start) and (end is None or value <= end)


def late_app(state: LateState) -> Starlette:
    async def get_requests(request: Request) -> Response:
        q = dict(request.query_params)
        state.queries.append((request.url.path, q))
        rows = state.visible(state.requests)
        ids = q.get("service_request_id")
        if ids and state.reads_by_id_down:
            return _unavailable()
        if ids and state.id_list == "refused":
            return Response(
                json.dumps([{"code": 400, "description": "Invalid parameter service_request_id"}]),
                status_code=400,
                headers={"Content-Type": "application/json"},
            )
        if ids and state.id_list == "honoured":
            wanted = set(ids.split(","))
            return _json([r for r in rows if r["service_request_id"] in wanted])
        if "updated_after" in q and state.honours_updated_after:
            after, before = as_datetime(q["updated_after"]), as_datetime(q.get("updated_before"))
            rows = [r for r in rows if _between(r.get("updated_datetime"), after, before)]
        else:
            start = as_datetime(q.get("start_date")) or state.clock() - DEFAULT_SPAN
            end = as_datetime(q.get("end_date"))
            rows = [r for r in rows if _between(r["requested_datetime"], start, end)]
        return _json(sorted(rows, key=lambda r: r["requested_datetime"]))

    async def get_request(request: Request) -> Response:
        state.queries.append((request.url.path, dict(request.query_params)))
        if state.reads_by_id_down:
            return _unavailable()
        wanted = request.path_params["sr_id"]
        rows = [r for r in state.visible(state.requests) if r["service_request_id"] == wanted]
        if not rows:
            return Response(
                json.dumps([{"code": 404, "description": f"service request {wanted} not found"}]),
                status_code=404,
                headers={"Content-Type": "application/json"},
            )
        return _json(rows)

    async def get_updates(request: Request) -> Response:
        q = dict(request.query_params)
        state.queries.append((request.url.path, q))
        start, end = as_datetime(q.get("start_date")), as_datetime(q.get("end_date"))
        rows = [u for u in state.visible(state.updates) if _between(u["updated_datetime"], start, end)]
        return _json(sorted(rows, key=lambda u: u["updated_datetime"]))

    return Starlette(
        routes=[
            Route("/v2/requests.json", get_requests, methods=["GET"]),
            Route("/v2/requests/{sr_id}.json", get_request, methods=["GET"]),
            Route("/v2/servicerequestupdates.json", get_updates, methods=["GET"]),
        ]
    )
