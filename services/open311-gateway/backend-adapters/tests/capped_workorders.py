"""A work-order API that caps its answers, built from real Los Angeles 311 requests of 2017, for tests of reading
lists without silent loss (reusable: start it with `serve_asgi(CappedWorkOrders(...).app)`).

Each LA request is one work order: `wo_number` = SRNumber, `state` = Status, `modified` = UpdatedDate (Los Angeles
time, as ISO 8601 with its offset), `category` = RequestType. `GET /api/v1/orders` searches `modified_since` /
`modified_until` (both inclusive), sorted by change time, and answers at most `cap` orders: with `pages`, it honours
`page`/`per_page` (a `per_page` above the cap is served as the cap); without, it ignores them and answers the first
`cap` orders by date, as many real systems do.
"""

from __future__ import annotations

import bisect
import csv
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from civicloop_testing import shared_dir
from fastapi import FastAPI, Request

LA = ZoneInfo("America/Los_Angeles")
LA_FORMAT = "%m/%d/%Y %I:%M:%S %p"
LA_STATUS_MAP = {"Open": "open", "Closed": "closed", "Cancelled": "closed", "Referred Out": "closed"}


def la_csv() -> Path | None:
    shared = shared_dir()
    path = shared / "data" / "requests" / "la-311-2017-sample.csv" if shared else None
    return path if path is not None and path.exists() else None


def la_rows(limit: int | None = None) -> list[dict[str, str]]:
    path = la_csv()
    assert path is not None, "the LA sample is not in the shared folder"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows[:limit] if limit is not None else rows


def la_work_order(row: dict[str, str]) -> dict[str, Any]:
    modified = datetime.strptime(row["UpdatedDate"], LA_FORMAT).replace(tzinfo=LA)
    return {
        "wo_number": row["SRNumber"],
        "state": row["Status"],
        "modified": modified.isoformat(),
        "remarks": row["ActionTaken"],
        "category": row["RequestType"],
    }


class CappedWorkOrders:
    def __init__(self, orders: list[dict[str, Any]], *, cap: int, pages: bool) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self._by_time: list[tuple[datetime, str]] = []  # (modified, number), sorted: searches bisect it
        self.cap = cap
        self.pages = pages
        self.searches: list[dict[str, str]] = []
        for order in orders:
            self.add(order)
        self.app = self._build()

    def add(self, order: dict[str, Any]) -> None:
        number = str(order["wo_number"])
        if number in self.orders:
            self._by_time.remove((datetime.fromisoformat(self.orders[number]["modified"]), number))
        self.orders[number] = order
        bisect.insort(self._by_time, (datetime.fromisoformat(order["modified"]), number))

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/v1/orders")
        async def search(request: Request) -> dict[str, Any]:
            params = dict(request.query_params)
            self.searches.append(params)
            since = datetime.fromisoformat(params["modified_since"]) if "modified_since" in params else None
            until = datetime.fromisoformat(params["modified_until"]) if "modified_until" in params else None
            first = 0 if since is None else bisect.bisect_left(self._by_time, (since, ""))
            last = (
                len(self._by_time) if until is None else bisect.bisect_right(self._by_time, (until, "\uffff"))
            )
            items = [self.orders[number] for _, number in self._by_time[first:last]]
            if self.pages:
                size = min(int(params.get("per_page", self.cap)), self.cap)
                first = (int(params.get("page", "1")) - 1) * size
                return {"result": {"orders": items[first : first + size]}}
            return {"result": {"orders": items[: self.cap]}}

        return app
