"""The demo county's two departmental systems, as one local process `make run` supervises beside the providers.

* **Street Services' work-order system**, an Open311 GeoReport v2 server (JSON, under `/open311/v2`): it takes the
  reports CivicLoop sends (`POST requests`), moves each work order along on its own over time (received, a crew
  assigned, fixed: level 3) and creates problems of its own that its crews find (level 4). CivicLoop's poller hears
  both back (`servicerequestupdates`, `requests`). Its own list of work orders is the page at `/`.
* **Water & Parks' job system**: it takes reports by webhook (`POST /parks/jobs`, answering its job reference; with a
  secret, `CIVICLOOP_SECRET_DEMO_PARKS_WEBHOOK`, only those whose `X-CivicLoop-Signature` is right) and can only tell what became of them through a CSV export of its job changes, rewritten in a drop directory
  (`jobs.csv`) that the back-end adapters' CSV feed reads.

Time is the only driver: what a work order or a job shows is computed from when it was received, the pace and the
clock (`timeline`, `own_problems`: pure), so nothing runs behind a request but the export writer. What was received
is kept in a JSON state file, so a restart keeps the orders and jobs (and the numbering of the crews' own problems,
which derives from the first start).

    python -m civicloop_testing.demo_workorders serve --port 24084 --state .run/demo/workorders.json \\
        --parks-exports .run/demo/parks-exports [--step-s 60] [--own-every-s 600]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import hmac
import html
import io
import json
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

# Street Services' categories, in their own codes (the demo body maps CivicLoop's to them: service_code_map).
WORK_ORDER_SERVICES = {
    "RD-POT": ("Pothole repair", "Roads"),
    "GR-REM": ("Graffiti removal", "Clean streets"),
    "LT-OUT": ("Street light out", "Lighting"),
    "LT-MULTI": ("Several street lights out", "Lighting"),
}
# A work order's steps after it is received: (status, external_status_code, note); step k at k * step_s.
WORK_ORDER_STEPS = (
    ("open", "assigned", "A crew is assigned to this work order."),
    ("closed", "fixed", "Fixed: the crew has done the work."),
)
# A parks job's rows in the export: (their status, note); row k at k * step_s (row 0: when it was logged).
PARKS_JOB_STEPS = (
    ("Logged", "Job logged."),
    ("In Hand", "A ranger is on it."),
    ("Completed", "Done: the ranger has dealt with it."),
)
PARKS_EXPORT_COLUMNS = ("Job Ref", "Status", "Changed At", "Notes")
# Where the crews' own problems are found: points spread over the demo city (generated districts and LA alike).
OWN_PROBLEM_PLACES = (
    (34.0522, -118.2437, "200 N Spring St"),
    (34.0407, -118.2468, "700 S Main St"),
    (34.0617, -118.3080, "3400 Wilshire Blvd"),
    (34.0983, -118.3267, "6400 Sunset Blvd"),
    (34.0195, -118.2912, "3600 S Figueroa St"),
)
OWN_PROBLEM_CODES = ("RD-POT", "LT-OUT", "GR-REM")


def w3c(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Pace:
    step_s: float = 60.0  # between a work order's (or a job's) steps
    own_every_s: float = 600.0  # between two problems the crews find themselves (0: none)


@dataclass(frozen=True)
class WorkOrder:
    id: str
    service_code: str
    description: str
    lat: float | None
    long: float | None
    address: str | None
    received_at: datetime
    civicloop_number: str | None = None  # CivicLoop's request number, for a report it sent

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "received_at": w3c(self.received_at)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> WorkOrder:
        return cls(**{**record, "received_at": parse_time(record["received_at"])})


@dataclass(frozen=True)
class Step:
    update_id: str
    status: str
    external_status_code: str
    note: str
    at: datetime


def timeline(order: WorkOrder, pace: Pace, now: datetime) -> list[Step]:
    """The steps the work order has gone through by `now` (none right after it was received)."""
    steps = []
    for k, (status, code, note) in enumerate(WORK_ORDER_STEPS, start=1):
        at = order.received_at + timedelta(seconds=k * pace.step_s)
        if at > now:
            break
        steps.append(Step(f"{order.id}-{k}", status, code, note, at))
    return steps


def own_problems(started_at: datetime, pace: Pace, now: datetime) -> list[WorkOrder]:
    """The problems the crews found themselves by `now`: one every `own_every_s` from the first start."""
    if pace.own_every_s <= 0 or now <= started_at:
        return []
    count = int((now - started_at).total_seconds() // pace.own_every_s)
    found = []
    for k in range(1, count + 1):
        code = OWN_PROBLEM_CODES[(k - 1) % len(OWN_PROBLEM_CODES)]
        lat, long, address = OWN_PROBLEM_PLACES[(k - 1) % len(OWN_PROBLEM_PLACES)]
        found.append(
            WorkOrder(
                id=f"CREW-{k}",
                service_code=code,
                description=f"{WORK_ORDER_SERVICES[code][0]}: found by a crew on patrol.",
                lat=lat,
                long=long,
                address=address,
                received_at=started_at + timedelta(seconds=k * pace.own_every_s),
            )
        )
    return found


def request_document(order: WorkOrder, pace: Pace, now: datetime) -> dict[str, Any]:
    """The work order as a GeoReport v2 request, in the state it has at `now`."""
    steps = timeline(order, pace, now)
    last = steps[-1] if steps else None
    name = WORK_ORDER_SERVICES[order.service_code][0]
    return {
        "service_request_id": order.id,
        "status": last.status if last else "open",
        "external_status_code": last.external_status_code if last else "received",
        "status_notes": last.note if last else "Work order received.",
        "service_code": order.service_code,
        "service_name": name,
        "description": order.description,
        "agency_responsible": "Street Services",
        "requested_datetime": w3c(order.received_at),
        "updated_datetime": w3c(last.at if last else order.received_at),
        "address": order.address or "",
        "lat": order.lat,
        "long": order.long,
    }


def update_document(order: WorkOrder, step: Step) -> dict[str, Any]:
    return {
        "update_id": step.update_id,
        "service_request_id": order.id,
        "status": step.status,
        "external_status_code": step.external_status_code,
        "description": step.note,
        "updated_datetime": w3c(step.at),
        "agency_responsible": "Street Services",
    }


@dataclass(frozen=True)
class ParksJob:
    ref: str
    civicloop_number: str
    service_name: str
    received_at: datetime

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "received_at": w3c(self.received_at)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ParksJob:
        return cls(**{**record, "received_at": parse_time(record["received_at"])})


def job_status(job: ParksJob, pace: Pace, now: datetime) -> str:
    """The job's status in the job system at `now` (its latest row in the export)."""
    reached = int(max(0.0, (now - job.received_at).total_seconds()) // pace.step_s) if pace.step_s > 0 else 0
    return PARKS_JOB_STEPS[min(reached, len(PARKS_JOB_STEPS) - 1)][0]


def parks_export(jobs: list[ParksJob], pace: Pace, now: datetime) -> str:
    """The job system's CSV export at `now`: one row per change of each job so far, oldest first."""
    rows = []
    for job in jobs:
        for k, (status, note) in enumerate(PARKS_JOB_STEPS):
            at = job.received_at + timedelta(seconds=k * pace.step_s)
            if at <= now:
                rows.append((at, job.ref, status, note))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PARKS_EXPORT_COLUMNS)
    for at, ref, status, note in sorted(rows):
        writer.writerow((ref, status, w3c(at), note))
    return out.getvalue()


@dataclass
class Systems:
    """What the two systems received, kept in `state_file` (written whole, then renamed, at each change)."""

    state_file: Path
    pace: Pace
    started_at: datetime
    orders: list[WorkOrder] = field(default_factory=list)
    jobs: list[ParksJob] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, state_file: Path, pace: Pace, now: datetime) -> Systems:
        if state_file.exists():
            state = json.loads(state_file.read_text())
            return cls(
                state_file,
                pace,
                parse_time(state["started_at"]) or now,
                [WorkOrder.from_record(r) for r in state["orders"]],
                [ParksJob.from_record(r) for r in state["jobs"]],
            )
        systems = cls(state_file, pace, now)
        systems.save()
        return systems

    def save(self) -> None:
        state = {
            "started_at": w3c(self.started_at),
            "orders": [o.record() for o in self.orders],
            "jobs": [j.record() for j in self.jobs],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_name(self.state_file.name + ".partial")
        partial.write_text(json.dumps(state, indent=1))
        os.replace(partial, self.state_file)

    def all_orders(self, now: datetime) -> list[WorkOrder]:
        return [*self.orders, *own_problems(self.started_at, self.pace, now)]

    def receive_order(self, order: WorkOrder) -> WorkOrder:
        """Keep a work order; a report CivicLoop sends again (a retry) gets the work order it already has."""
        with self.lock:
            for known in self.orders:
                if order.civicloop_number and known.civicloop_number == order.civicloop_number:
                    return known
            kept = WorkOrder(**{**asdict(order), "id": f"WO-{1001 + len(self.orders)}"})
            self.orders.append(kept)
            self.save()
            return kept

    def receive_job(self, number: str, service_name: str, now: datetime) -> ParksJob:
        with self.lock:
            for known in self.jobs:
                if known.civicloop_number == number:
                    return known
            job = ParksJob(f"PK-{101 + len(self.jobs)}", number, service_name, now)
            self.jobs.append(job)
            self.save()
            return job


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": code, "description": description}], status_code=code)


def _window(request: Request, start: str, end: str, now: datetime) -> tuple[datetime, datetime]:
    q = request.query_params
    return parse_time(q.get(start)) or now - timedelta(days=90), parse_time(q.get(end)) or now


PARKS_SECRET_ENV = "CIVICLOOP_SECRET_DEMO_PARKS_WEBHOOK"  # noqa: S105 - the variable that holds it


def signed_by(secret: str, raw: bytes, signature: str | None) -> bool:
    """Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of the raw body under `secret`, as CivicLoop signs."""
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return signature is not None and hmac.compare_digest(expected, signature)


def web_app(
    systems: Systems,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    parks_secret: str | None = None,
) -> Starlette:
    pace = systems.pace

    async def services(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "service_code": code,
                    "service_name": name,
                    "group": group,
                    "metadata": False,
                    "type": "realtime",
                    "keywords": "",
                    "description": name,
                }
                for code, (name, group) in WORK_ORDER_SERVICES.items()
            ]
        )

    async def create(request: Request) -> Response:
        form = await request.form()
        code = str(form.get("service_code") or "")
        if not code:
            return _error(400, "service_code is required")
        if code not in WORK_ORDER_SERVICES:
            return _error(404, f"no service {code}")
        lat, long = form.get("lat"), form.get("long")
        if not (lat and long) and not form.get("address_string"):
            return _error(400, "a location (lat and long, or address_string) is required")
        number = next(
            (str(v) for k, v in form.multi_items() if k.startswith("attribute[civicloop_number]")), None
        )
        order = systems.receive_order(
            WorkOrder(
                id="",
                service_code=code,
                description=str(form.get("description") or ""),
                lat=float(str(lat)) if lat else None,
                long=float(str(long)) if long else None,
                address=str(form.get("address_string") or "") or None,
                received_at=clock(),
                civicloop_number=number,
            )
        )
        return JSONResponse(
            [{"service_request_id": order.id, "service_notice": "Street Services will send a crew."}]
        )

    async def requests(request: Request) -> Response:
        now = clock()
        orders = systems.all_orders(now)
        ids = request.query_params.get("service_request_id")
        if ids:
            wanted = {i.strip() for i in ids.split(",")}
            return JSONResponse([request_document(o, pace, now) for o in orders if o.id in wanted])
        q = request.query_params
        documents = [request_document(o, pace, now) for o in orders if o.received_at <= now]
        if q.get("updated_after") or q.get("updated_before"):
            after, before = _window(request, "updated_after", "updated_before", now)
            documents = [d for d in documents if after <= parse_time(d["updated_datetime"]) <= before]  # type: ignore[operator]
        else:
            start, end = _window(request, "start_date", "end_date", now)
            documents = [d for d in documents if start <= parse_time(d["requested_datetime"]) <= end]  # type: ignore[operator]
        if q.get("status"):
            documents = [d for d in documents if d["status"] == q["status"]]
        return JSONResponse(documents)

    async def one_request(request: Request) -> Response:
        now = clock()
        wanted = request.path_params["id"].removesuffix(".json")
        for order in systems.all_orders(now):
            if order.id == wanted:
                return JSONResponse([request_document(order, pace, now)])
        return _error(404, f"no service request {wanted}")

    async def updates(request: Request) -> Response:
        now = clock()
        start, end = _window(request, "start_date", "end_date", now)
        found = [
            (step.at, update_document(order, step))
            for order in systems.all_orders(now)
            for step in timeline(order, pace, now)
            if start <= step.at <= end
        ]
        return JSONResponse([document for _, document in sorted(found, key=lambda f: f[0])])

    async def parks_job(request: Request) -> Response:
        raw = await request.body()
        if parks_secret and not signed_by(parks_secret, raw, request.headers.get("x-civicloop-signature")):
            return JSONResponse({"error": "signature missing or wrong"}, status_code=401)
        try:
            delivery = json.loads(raw)
            report = delivery["request"]
            number, service_name = str(report["request_id"]), str(report.get("service_name") or "")
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "not a CivicLoop delivery"}, status_code=400)
        job = systems.receive_job(number, service_name, clock())
        return JSONResponse({"external_id": job.ref})

    async def listing(request: Request) -> Response:
        now = clock()
        return JSONResponse(
            {
                "work_orders": [
                    {**request_document(o, pace, now), "civicloop_number": o.civicloop_number}
                    for o in systems.all_orders(now)
                ],
                "parks_jobs": [j.record() for j in systems.jobs],
            }
        )

    async def index(request: Request) -> Response:
        now = clock()
        orders = sorted(systems.all_orders(now), key=lambda o: o.received_at, reverse=True)
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    d["service_request_id"],
                    o.civicloop_number or "found by a crew",
                    d["service_name"],
                    f"{d['status']} ({d['external_status_code']})",
                    d["requested_datetime"],
                    d["updated_datetime"],
                )
            )
            + "</tr>"
            for o in orders
            for d in [request_document(o, pace, now)]
        )
        jobs = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(v)}</td>"
                for v in (
                    j.ref,
                    j.civicloop_number,
                    j.service_name,
                    job_status(j, pace, now),
                    w3c(j.received_at),
                )
            )
            + "</tr>"
            for j in reversed(systems.jobs)
        )
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>Demo county: departmental systems</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}"
            ".scroll{overflow-x:auto;margin-bottom:1.5rem}table{border-collapse:collapse}"
            "th,td{border:1px solid #c8c8c8;padding:.35rem .6rem;text-align:left}th{background:#eef2f6}"
            "</style></head><body><main>"
            "<h1>Street Services: work orders</h1>"
            f"<p>Each work order is assigned {pace.step_s:g} s after it arrives and fixed {pace.step_s:g} s later; "
            "the crews log what they find themselves. Reload the page to see them move.</p>"
            "<div class='scroll' role='region' aria-label='Work orders' tabindex='0'>"
            "<table><thead><tr><th scope='col'>Work order</th><th scope='col'>CivicLoop request</th>"
            "<th scope='col'>Category</th><th scope='col'>Status</th><th scope='col'>Received</th>"
            f"<th scope='col'>Updated</th></tr></thead><tbody>{rows}</tbody></table></div>"
            "<h1>Water &amp; Parks: jobs</h1>"
            "<p>The job system tells nobody: its changes go out as a CSV export (<code>jobs.csv</code> in its drop "
            "directory), which CivicLoop reads through the adapter app's CSV feed.</p>"
            "<div class='scroll' role='region' aria-label='Jobs' tabindex='0'>"
            "<table><thead><tr><th scope='col'>Job</th><th scope='col'>CivicLoop request</th>"
            "<th scope='col'>Category</th><th scope='col'>Status</th><th scope='col'>Logged</th></tr></thead>"
            f"<tbody>{jobs}</tbody></table></div></main></body></html>"
        )

    async def ready(request: Request) -> Response:
        return PlainTextResponse("ready")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/readyz", ready),
            Route("/orders.json", listing),
            Route("/open311/v2/services.json", services),
            Route("/open311/v2/requests.json", requests),
            Route("/open311/v2/requests.json", create, methods=["POST"]),
            Route("/open311/v2/requests/{id}", one_request),
            Route("/open311/v2/servicerequestupdates.json", updates),
            Route("/parks/jobs", parks_job, methods=["POST"]),
        ]
    )


def write_export(systems: Systems, directory: Path, now: datetime) -> bool:
    """Rewrite `jobs.csv` in the drop directory when its rows changed (written aside, then renamed: a reader never
    sees half a file). Whether it was rewritten."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "jobs.csv"
    text = parks_export(list(systems.jobs), systems.pace, now)
    if target.exists() and target.read_text() == text:
        return False
    partial = directory / "jobs.csv.partial"
    partial.write_text(text)
    os.replace(partial, target)
    return True


async def export_forever(systems: Systems, directory: Path, every_s: float = 1.0) -> None:
    while True:
        write_export(systems, directory, datetime.now(UTC))
        await asyncio.sleep(every_s)  # a timer: the export follows the clock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="the work-order system, the job system and its CSV export")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--state", type=Path, required=True, help="the JSON file that keeps what was received")
    serve.add_argument("--parks-exports", type=Path, required=True, help="the drop directory of jobs.csv")
    serve.add_argument("--step-s", type=float, default=60.0, help="seconds between a work order's steps")
    serve.add_argument("--own-every-s", type=float, default=600.0, help="seconds between the crews' finds")
    args = parser.parse_args(argv)
    systems = Systems.load(args.state, Pace(args.step_s, args.own_every_s), datetime.now(UTC))
    app = web_app(systems, parks_secret=os.environ.get(PARKS_SECRET_ENV) or None)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        writer = asyncio.create_task(export_forever(systems, args.parks_exports))
        try:
            yield
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    app.router.lifespan_context = lifespan
    print(
        f"demo work orders: http://127.0.0.1:{args.port}/ (Open311 at /open311/v2), "
        f"job exports in {args.parks_exports}",
        flush=True,
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
