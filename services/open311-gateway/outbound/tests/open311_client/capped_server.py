"""An Open311 server on 127.0.0.1 that caps its answers, the way real back-ends do, serving real Los Angeles requests.

`GET requests` filters by `start_date`/`end_date` (requested time) or `updated_after`/`updated_before`, sorts by that
date and returns at most `cap` rows: the first page of `page_size` rows (clamped to the cap) when `honours_paging`,
else simply the first `cap` rows, whatever `page` says. `GET servicerequestupdates` does the same by update time
with `updates_cap`. `phase` is what the back-end shows: "created" (every request open, as first published) or
"later" (the source's status and last update time, and a closing update for each closed request).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from civicloop_open311.dates import format_w3c
from civicloop_open311.wire import as_datetime
from civicloop_testing import shared_dir
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
CLOSED = {"Closed", "Cancelled", "Referred Out"}


def la_csv() -> Path | None:
    """The LA 311 sample in the shared folder, or None where it is not beside the checkout."""
    shared = shared_dir()
    path = shared / "data" / "requests" / "la-311-2017-sample.csv" if shared else None
    return path if path is not None and path.exists() else None


def service_code(request_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", request_type.lower()).strip("-")


def _la_time(text: str) -> datetime | None:
    if not text.strip():
        return None
    return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=LOS_ANGELES).astimezone(UTC)


@dataclass(frozen=True)
class SourceRequest:
    """One row of the LA sample, as the back-end holds it."""

    id: str
    code: str
    created: datetime
    updated: datetime
    closed: bool
    lat: str
    long: str
    address: str
    action: str

    def as_created(self) -> dict[str, Any]:
        return self._record("open", self.created)

    def as_later(self) -> dict[str, Any]:
        return self._record("closed" if self.closed else "open", self.updated)

    def closing_update(self) -> dict[str, Any] | None:
        if not self.closed:
            return None
        return {
            "update_id": f"{self.id}-closed",
            "service_request_id": self.id,
            "status": "closed",
            "updated_datetime": format_w3c(self.updated),
            "description": self.action or "Closed",
        }

    def _record(self, status: str, updated: datetime) -> dict[str, Any]:
        return {
            "service_request_id": self.id,
            "status": status,
            "service_code": self.code,
            "description": f"{self.code} at {self.address}",
            "requested_datetime": format_w3c(self.created),
            "updated_datetime": format_w3c(updated),
            "address": self.address,
            "lat": self.lat,
            "long": self.long,
        }


def la_requests(path: Path, *, limit: int | None = None) -> list[SourceRequest]:
    """The sample's requests (the first `limit` by SRNumber order in the file), one per SRNumber."""
    out: dict[str, SourceRequest] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            created = _la_time(row["CreatedDate"])
            if created is None or row["SRNumber"] in out:
                continue
            updated = max(created, _la_time(row["UpdatedDate"]) or created)
            out[row["SRNumber"]] = SourceRequest(
                id=row["SRNumber"],
                code=service_code(row["RequestType"]),
                created=created,
                updated=updated,
                closed=row["Status"] in CLOSED,
                lat=row["Latitude"],
                long=row["Longitude"],
                address=row["Address"],
                action=row["ActionTaken"],
            )
            if limit is not None and len(out) >= limit:
                break
    return list(out.values())


@dataclass
class CappedState:
    source: list[SourceRequest] = field(default_factory=list)
    cap: int = 50
    updates_cap: int = 50
    honours_paging: bool = False
    phase: str = "created"
    fail_from: datetime | None = (
        None  # windows starting at or after this answer 503 (a back-end failing half-way)
    )
    queries: list[dict[str, str]] = field(default_factory=list)
    refused: list[datetime] = field(default_factory=list)  # the starts of the windows answered 503

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def records(self, by: str) -> list[tuple[datetime, str, dict[str, Any]]]:
        """(the date `by` filters on, a tie-break, the record) of every request, as the phase shows it."""
        out = []
        for r in self.source:
            record = r.as_created() if self.phase == "created" else r.as_later()
            updated = r.created if self.phase == "created" else r.updated
            out.append((r.created if by == "requested" else updated, r.id, record))
        return out

    def updates(self) -> list[tuple[datetime, str, dict[str, Any]]]:
        if self.phase == "created":
            return []
        return [(r.updated, u["update_id"], u) for r in self.source if (u := r.closing_update()) is not None]


def _between(
    rows: list[tuple[datetime, str, dict[str, Any]]], low: str | None, high: str | None
) -> list[dict[str, Any]]:
    """The rows dated in [low, high] (both ends included, as most servers do), oldest first."""
    lo = as_datetime(low) if low else None
    hi = as_datetime(high) if high else None
    chosen = [r for r in rows if (lo is None or r[0] >= lo) and (hi is None or r[0] <= hi)]
    return [record for _, _, record in sorted(chosen, key=lambda r: (r[0], r[1]))]


def _cut(
    state: CappedState, rows: list[dict[str, Any]], cap: int, query: dict[str, str]
) -> list[dict[str, Any]]:
    if not state.honours_paging:
        return rows[:cap]
    size = min(cap, int(query.get("page_size") or cap))
    page = max(1, int(query.get("page") or 1))
    return rows[(page - 1) * size : page * size]


def capped_app(state: CappedState) -> Starlette:
    def failing(query: dict[str, str]) -> Response | None:
        low = query.get("start_date") or query.get("updated_after")
        if state.fail_from is not None and low and (start := as_datetime(low)) >= state.fail_from:
            state.refused.append(start)
            return Response(
                "<html>503 Service Unavailable</html>", status_code=503, headers={"Content-Type": "text/html"}
            )
        return None

    async def get_requests(request: Request) -> Response:
        query = dict(request.query_params)
        state.queries.append({"list": "requests", **query})
        if (down := failing(query)) is not None:
            return down
        if "updated_after" in query or "updated_before" in query:
            rows = _between(state.records("updated"), query.get("updated_after"), query.get("updated_before"))
        else:
            rows = _between(state.records("requested"), query.get("start_date"), query.get("end_date"))
        return _json(_cut(state, rows, state.cap, query))

    async def get_updates(request: Request) -> Response:
        query = dict(request.query_params)
        state.queries.append({"list": "updates", **query})
        if (down := failing(query)) is not None:
            return down
        rows = _between(state.updates(), query.get("start_date"), query.get("end_date"))
        return _json(_cut(state, rows, state.updates_cap, query))

    return Starlette(
        routes=[
            Route("/v2/requests.{fmt}", get_requests, methods=["GET"]),
            Route("/v2/servicerequestupdates.{fmt}", get_updates, methods=["GET"]),
        ]
    )


def _json(rows: list[dict[str, Any]]) -> Response:
    return Response(json.dumps(rows), headers={"Content-Type": "application/json; charset=utf-8"})
