"""The Open311 gateway on a read model of a million requests, as a real process on the real broker and PostGIS.

The gateway's request view (`gateway.requests`) is bulk-loaded with COPY: folding a million events through Kafka
would only measure the projection again (see intake_pipeline), and what is measured here is the read path and the
write path of the Open311 endpoint over a table of that size, each phase driven by wrk with the CPU of every process
involved (the gateway, the broker, PostgreSQL) per accepted request. Ceiling: the same app's no-op `GET /healthz`,
same load generator, same connections, same run.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg
from civicloop_events import ServiceDefined
from civicloop_events.payloads import PartnerAuthorised
from civicloop_events.request_numbers import encode as encode_number
from civicloop_events.topics import Topics
from civicloop_gateway.adapters.open311_queries import rendered_columns, requests_sql
from civicloop_gateway.domain.partner_keys import issue_key
from civicloop_gateway.domain.queries import Limits, request_query
from civicloop_gateway.domain.request_view import RENDERING, rendered_fields
from civicloop_open311.documents import REQUEST_FIELDS
from civicloop_open311.formats import Format
from civicloop_places import public_place
from civicloop_testing.events import config_event, publish_events
from civicloop_testing.processes import ServiceProcess

from bench.cpu import CpuMeter, Watch
from bench.harness import (
    KAFKA,
    database_name,
    measured,
    scratch_database,
    scratch_topics,
    service_env,
    service_pids,
)
from bench.wrk import Load, ratio

CODES = [
    ("bulky-items", "Bulky Items", 0.44),
    ("graffiti", "Graffiti Removal", 0.29),
    ("illegal-dumping", "Illegal Dumping Pickup", 0.08),
    ("appliances", "Metal/Household Appliances", 0.07),
    ("e-waste", "Electronic Waste", 0.04),
    ("encampment", "Homeless Encampment", 0.03),
    ("dead-animal", "Dead Animal Removal", 0.02),
    ("streetlight", "Single Streetlight Issue", 0.02),
    ("other", "Other", 0.01),
]
NOW = datetime(2026, 11, 1, tzinfo=UTC)
SPAN_DAYS = 730


def la_points() -> list[tuple[float, float, str]]:
    """Real LA 311 points and addresses when ../shared/data is there, else points scattered over LA."""
    shared = Path(os.environ.get("CIVICLOOP_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    sample = shared / "data" / "requests" / "la-311-2017-sample.csv"
    if sample.exists():
        with sample.open(newline="") as fh:
            return [
                (float(r["Latitude"]), float(r["Longitude"]), r["Address"])
                for r in csv.DictReader(fh)
                if r["Latitude"]
            ]
    rng = random.Random(7)
    return [(33.95 + rng.random() * 0.3, -118.45 + rng.random() * 0.3, "") for _ in range(5000)]


def load_requests(dsn: str, count: int) -> float:
    """COPY `count` requests into the gateway's view; returns seconds taken."""
    rng = random.Random(311)
    points = la_points()
    codes, names, weights = zip(*CODES, strict=True)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "copy gateway.requests (service_request_id, jurisdiction_id, status, civicloop_status, service_name,"
            " service_code, description, requested_datetime, updated_datetime, address, lat, long, location,"
            " media_urls, source, last_event_id, h3_cell, h3_resolution, open311_json, open311_xml,"
            " open311_rendering) from stdin"
        ) as copy:
            for i in range(count):
                k = rng.choices(range(len(codes)), weights)[0]
                lat, long, address = rng.choice(points)
                lat, long = lat + rng.uniform(-0.001, 0.001), long + rng.uniform(-0.001, 0.001)
                shown = public_place(
                    lat, long, address
                )  # what the gateway's fold stores: never the exact place
                requested = NOW - timedelta(seconds=rng.uniform(0, SPAN_DAYS * 86400))
                closed = rng.random() < 0.85
                updated = requested + timedelta(days=rng.uniform(0, 20) if closed else 0)
                number = encode_number((i * 1_000_003 + 12345) % (1 << 40))
                status = "closed" if closed else "open"
                # The request's Open311 object, as the gateway's fold writes it with the row.
                shown_fields = {
                    "service_request_id": number,
                    "status": status,
                    "service_name": names[k],
                    "service_code": codes[k],
                    "description": f"{names[k]} reported",
                    "requested_datetime": requested,
                    "updated_datetime": updated,
                    "address": shown.address,
                    "lat": shown.lat,
                    "long": shown.long,
                }
                texts = rendered_fields([shown_fields.get(name) for name in REQUEST_FIELDS])
                assert texts is not None
                copy.write_row(
                    (
                        number,
                        "demo",
                        status,
                        status,
                        names[k],
                        codes[k],
                        f"{names[k]} reported",
                        requested,
                        updated,
                        shown.address,
                        shown.lat,
                        shown.long,
                        f"SRID=4326;POINT({shown.long} {shown.lat})",
                        [],
                        "web",
                        uuid.uuid4(),
                        shown.h3_cell,
                        shown.h3_resolution,
                        texts.json,
                        texts.xml,
                        RENDERING,
                    )
                )
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum analyze gateway.requests")
    return time.perf_counter() - started


def query_plan(dsn: str, query: dict[str, str]) -> list[str]:
    """EXPLAIN ANALYZE of the statement the gateway runs for GET requests with `query`."""
    q = request_query(
        {k: [v] for k, v in query.items() if k != "jurisdiction_id"},
        jurisdiction_id=query["jurisdiction_id"],
        now=datetime.now(UTC),
        limits=Limits(),
    )
    sql, params = requests_sql(q, columns=rendered_columns(Format.json))
    with psycopg.connect(dsn) as conn:
        return [line for (line,) in conn.execute(f"explain (analyze, buffers) {sql}", params).fetchall()]


async def publish_configuration(topics: Topics, key_sha256: str, key_id: str) -> None:
    partner = PartnerAuthorised(client_id="bench", name="Bench partner", key_id=key_id, key_sha256=key_sha256)
    services = [ServiceDefined(service_code=code, service_name=name) for code, name, _ in CODES]
    events = [config_event(payload, admin="bench") for payload in (*services, partner)]
    await publish_events(KAFKA, topics.jurisdiction_config, events)


async def run(*, rows: int, load: Load) -> list[str]:
    lines: list[str] = []
    with scratch_database("cl_bench_o311") as dsn:
        topics = await scratch_topics()
        env = service_env(dsn, topics, CIVICLOOP_ENV="dev", CIVICLOOP_DEFAULT_JURISDICTION_ID="demo")
        gateway = ServiceProcess("open311-gateway", "civicloop-gateway", env, log_prefix="bench")
        gateway.run_cli("migrate")
        load_s = await asyncio.to_thread(load_requests, dsn, rows)
        lines.append(f"read model: {rows:,} requests loaded with COPY + VACUUM ANALYZE in {load_s:.1f} s")
        key = issue_key()
        await publish_configuration(topics, key.key_sha256, key.key_id)
        gateway.start()
        try:
            await gateway.wait_ready()
            end = NOW - timedelta(days=30)
            query = {
                "jurisdiction_id": "demo",
                "service_code": "bulky-items,graffiti",
                "status": "closed",
                "start_date": (end - timedelta(days=90)).isoformat(timespec="seconds"),
                "end_date": end.isoformat(timespec="seconds"),
            }
            async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
                await wait_for_catalogue(client)
                first = await client.get("/open311/v2/requests.json", params=query)
                assert first.status_code == 200, first.text
                returned = len(first.json())
            form = urlencode(
                {
                    "api_key": key.key,
                    "jurisdiction_id": "demo",
                    "service_code": "graffiti",
                    "lat": "34.0522",
                    "long": "-118.2437",
                    "description": "Tag on the wall",
                }
            )
            meter = CpuMeter(Watch(services=service_pids(gateway), database=database_name(dsn)))
            ceiling_lines, ceiling = await measured(
                meter, "gateway GET /healthz (no-op ceiling)", f"{gateway.url}/healthz", load
            )
            read_lines, reads = await measured(
                meter,
                f"GET requests.json ({returned} results, filtered)",
                f"{gateway.url}/open311/v2/requests.json?{urlencode(query)}",
                load,
            )
            page_lines, page = await measured(
                meter,
                "GET requests.json (100 per page, filtered)",
                f"{gateway.url}/open311/v2/requests.json?{urlencode({**query, 'page_size': '100'})}",
                load,
            )
            post_lines, posts = await measured(
                meter,
                "POST requests.json (form, acks=all)",
                f"{gateway.url}/open311/v2/requests.json",
                load,
                # A description of its own per request, as the Open311 comparison posts.
                post=("application/x-www-form-urlencoded", form + "+{unique}"),
            )
            lines.append(
                f"wrk: {load.threads} threads, {load.connections} connections, {load.seconds:g} s each, same run"
            )
            lines += [*ceiling_lines, *read_lines, *page_lines, *post_lines]
            lines += [ratio(reads, ceiling), ratio(page, ceiling), ratio(posts, ceiling)]
            lines.append("plan of the GET's query (warm):")
            lines += [f"  {line}" for line in await asyncio.to_thread(query_plan, dsn, query)]
        finally:
            gateway.stop()
    return lines


async def wait_for_catalogue(client: httpx.AsyncClient, timeout: float = 60) -> None:
    """The gateway learns services and partners from the log; wait until both are there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await client.get("/open311/v2/services.json", params={"jurisdiction_id": "demo"})
        if r.status_code == 200 and len(r.json()) == len(CODES):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the gateway never listed the bench catalogue")
