"""The benchmarks bulk-load read models with COPY, beside the services' own writes: these checks keep the loaders in
step with the migrations (a schema change that breaks a loader fails here, not in the middle of `make bench`). The
bench's own instruments are checked too: wrk's POST script makes every request unique, and the CPU meter sees the
CPU a watched process spends."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import psycopg
import pytest
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_geo.adapters.request_places import duplicate_query_params
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.domain.duplicates import NearbySearch
from civicloop_places import block_address, public_place
from civicloop_runtime.settings import ServiceSettings

from bench import geo as geo_bench
from bench import open311_gateway as gateway_bench
from bench.cpu import PG_BENCH, PG_OTHERS, PG_SERVER, CpuMeter, Watch, postgres_group
from bench.wrk import Load, run_wrk

pytestmark = pytest.mark.integration


def sqlalchemy_url(dsn: str) -> str:
    return ServiceSettings(pg_dsn=dsn).sqlalchemy_url


def test_the_open311_loader_writes_public_places_only(fresh_database_dsn: str) -> None:
    migrate_gateway(sqlalchemy_url(fresh_database_dsn))
    gateway_bench.load_requests(fresh_database_dsn, 200)
    with psycopg.connect(fresh_database_dsn) as conn:
        rows = conn.execute(
            "select lat, long, h3_cell, h3_resolution, address from gateway.requests"
        ).fetchall()
    assert len(rows) == 200
    for lat, long, cell, resolution, address in rows:
        shown = public_place(lat, long, resolution=resolution)
        assert (shown.lat, shown.long, shown.h3_cell) == (lat, long, cell), (
            "a cell centre, as the fold stores"
        )
        # A block, or a text that names no home (an intersection), which block_address keeps as it is.
        assert address is None or " block of " in address or block_address(address) == address, address


def test_the_geo_loader_fills_the_duplicate_query(fresh_database_dsn: str) -> None:
    migrate_geo(sqlalchemy_url(fresh_database_dsn))
    geo_bench.load_requests(fresh_database_dsn, 500, geo_bench.points(geo_bench.la_rows()))
    with psycopg.connect(fresh_database_dsn) as conn:
        (count,) = conn.execute("select count(*) from geo.requests").fetchone()
        request_id, code, lat, long, at = conn.execute(
            """select request_id, service_code, ST_Y(geog::geometry), ST_X(geog::geometry), submitted_at
                 from geo.requests where status <> 'closed' order by request_id limit 1"""
        ).fetchone()
        found = conn.execute(
            geo_bench.DUPLICATE_QUERY,
            duplicate_query_params(
                NearbySearch(
                    geo_bench.J,
                    lat,
                    long,
                    service_codes=(code,),
                    radius_m=10.0,
                    since=at - timedelta(days=1),
                    until=at + timedelta(days=1),
                    limit=20,
                )
            ),
        ).fetchall()
    assert count == 500
    assert request_id in [row[0] for row in found], "an open request is its own nearest candidate"


class Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str]]] = []  # (path, Idempotency-Key, body) of every POST

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.seen.append((self.path, self.headers["Idempotency-Key"], body))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by `make bench-deps`")
def test_wrk_posts_every_request_with_a_key_of_its_own() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/requests?x=1"
        result = run_wrk(
            "post", url, Load(connections=4, threads=2, seconds=1), post=("text/plain", "report {unique}")
        )
    finally:
        server.shutdown()
        server.server_close()
    keys = [key for _, key, _ in Recorder.seen]
    assert result.accepted > 10 and result.status_errors == 0
    assert len(set(keys)) == len(keys) >= result.accepted, "no key sent twice"
    assert all(
        path == "/api/v1/requests?x=1" and body == f"report {key}" for path, key, body in Recorder.seen
    )
    assert 0 < result.p50_ms <= result.p99_ms


def test_the_cpu_meter_counts_what_a_watched_process_spends() -> None:
    # Burns 0.3 s of CPU when told to, then waits: all of it between the meter's start and stop.
    burn = (
        "import sys, time\n"
        "sys.stdin.readline()\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\n"
        "print('done', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    burner = subprocess.Popen(
        [sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert burner.stdin is not None and burner.stdout is not None
    try:
        meter = CpuMeter(Watch(services={"burner": burner.pid}))
        meter.start()
        burner.stdin.write("go\n")
        burner.stdin.flush()
        assert burner.stdout.readline() == "done\n"
        usage = meter.stop()
    finally:
        burner.kill()
        burner.wait()
    assert 0.28 <= usage.per_group_s["burner"] < 1
    assert usage.machine_s >= usage.per_group_s["burner"] * 0.9


def test_postgres_processes_are_told_apart_by_their_titles() -> None:
    db = "cl_bench_1a2b"
    assert postgres_group(f"postgres: postgres {db} 127.0.0.1(5123) idle", db) == PG_BENCH
    assert postgres_group("postgres: postgres cl_other 127.0.0.1(5124) idle", db) == PG_OTHERS
    assert postgres_group("postgres: walwriter", db) == PG_SERVER
    assert postgres_group("/usr/lib/postgresql/15/bin/postgres -D /data -p 55432", db) == PG_SERVER
    assert postgres_group("python -m bench", db) is None
