"""The benchmarks bulk-load read models with COPY, beside the services' own writes: these checks keep the loaders in
step with the migrations (a schema change that breaks a loader fails here, not in the middle of `make bench`). The
bench's own instruments are checked too: wrk's POST script makes every request unique, its paced script offers the
rate asked for, the CPU meter sees the CPU a watched process spends; and its pure helpers (pacing maths, consumer
lag and the verdict on a lag series, what it parses from /proc and wrk, the choice of phases) without IO."""

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
import typer
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_geo.adapters.request_places import duplicate_query_params
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.domain.duplicates import NearbySearch
from civicloop_places import block_address, public_place
from civicloop_runtime.settings import ServiceSettings

from bench import __main__ as bench_main
from bench import geo as geo_bench
from bench import open311_gateway as gateway_bench
from bench.cpu import PG_BENCH, PG_OTHERS, PG_SERVER, CpuMeter, Watch, postgres_group
from bench.lag import caught_up, group_lags, verdict
from bench.pacing import connections_for, delay_ms, next_slot, thread_interval_us
from bench.rss import vm_rss_kib
from bench.wrk import Load, parse_summary, run_wrk, script_text


def sqlalchemy_url(dsn: str) -> str:
    return ServiceSettings(pg_dsn=dsn).sqlalchemy_url


@pytest.mark.integration
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


@pytest.mark.integration
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
@pytest.mark.integration
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


@pytest.mark.integration
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


@pytest.mark.integration
def test_postgres_processes_are_told_apart_by_their_titles() -> None:
    db = "cl_bench_1a2b"
    assert postgres_group(f"postgres: postgres {db} 127.0.0.1(5123) idle", db) == PG_BENCH
    assert postgres_group("postgres: postgres cl_other 127.0.0.1(5124) idle", db) == PG_OTHERS
    assert postgres_group("postgres: walwriter", db) == PG_SERVER
    assert postgres_group("/usr/lib/postgresql/15/bin/postgres -D /data -p 55432", db) == PG_SERVER
    assert postgres_group("python -m bench", db) is None


# The bench's pure helpers: pacing maths, the lag verdict, what it reads from /proc and from wrk.


@pytest.mark.parametrize(
    ("rate", "threads", "interval"), [(500, 2, 4000.0), (1000, 2, 2000.0), (50, 1, 20000.0)]
)
def test_a_thread_paces_its_share_of_the_rate(rate: float, threads: int, interval: float) -> None:
    assert thread_interval_us(rate, threads) == interval


def test_slots_follow_the_schedule_and_restart_when_behind() -> None:
    assert next_slot(None, 1_000.0, 4_000.0) == 1_000.0, "the first request goes at once"
    assert next_slot(1_000.0, 1_500.0, 4_000.0) == 5_000.0, "then one interval later"
    # Connections freed together each take the next slot: they spread out instead of sending at once.
    slots, previous = [], None
    for _ in range(4):
        previous = next_slot(previous, 0.0, 4_000.0)
        slots.append(previous)
    assert slots == [0.0, 4_000.0, 8_000.0, 12_000.0]
    assert next_slot(0.0, 10_000.0, 4_000.0) == 10_000.0, "behind: from now on, no burst to catch up"
    assert delay_ms(5_000.0, 1_500.0) == 4 and delay_ms(10_000.0, 10_000.0) == 0


def test_offering_a_rate_needs_connections_by_littles_law() -> None:
    assert connections_for(500, 100, 2) == 100  # 50 in flight, twice that for headroom
    assert connections_for(10, 1, 2) == 2, "at least one per thread"
    assert connections_for(500, 7, 4) % 4 == 0, "wrk spreads connections evenly over threads"
    # 4 req/s at 2 s each would want 16 connections, each then idle 4 s between requests: capped at 8 (2 s apart).
    assert connections_for(4, 2000, 2) == 8


def test_the_paced_script_sets_the_thread_interval() -> None:
    text = script_text(post=True, load=Load(threads=2, rate=500))
    assert "PACE_INTERVAL_US = 4000.0" in text and "function delay()" in text and "function request()" in text
    assert "function delay()" not in script_text(post=False, load=Load())


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by `make bench-deps`")
@pytest.mark.integration
def test_wrk_paced_offers_the_rate_asked_for() -> None:
    Recorder.seen.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        result = run_wrk(
            "paced", url, Load(connections=8, threads=2, seconds=2, rate=100), post=("t/p", "{unique}")
        )
    finally:
        server.shutdown()
        server.server_close()
        Recorder.seen.clear()  # the other wrk test reads what the recorder saw
    # 100 req/s for 2 s: a closed loop against this server would send thousands.
    assert 120 <= result.accepted <= 230, result
    assert result.offered_rate == 100


def test_group_lag_is_the_log_end_minus_the_stored_position() -> None:
    geo, agent = ("geo", "geo.requests.v1", "t.req"), ("projections", "agent.v1", "t.req")
    extents = {"t.req": {0: (0, 100), 1: (10, 50)}}
    positions = {("geo", "geo.requests.v1", "t.req", 0): 90, ("geo", "geo.requests.v1", "t.req", 1): 50}
    lags = group_lags([geo, agent], positions, extents)
    assert lags[geo] == 10
    assert lags[agent] == 100 + 40, (
        "no stored position yet: behind by the whole partition, from its first offset"
    )


def test_caught_up_means_nothing_behind_and_every_service_reading_the_requests() -> None:
    config, requests = ("geo", "geo.config.v1", "t.config"), ("geo", "geo.requests.v1", "t.req")
    agent = ("projections", "agent.v1", "t.req")
    assert caught_up({config: 0, requests: 0, agent: 0}, "t.req")
    assert not caught_up({config: 0, requests: 3, agent: 0}, "t.req")
    assert not caught_up({config: 0, agent: 0}, "t.req"), "geo has not applied a request yet"
    assert caught_up({config: 0, agent: 0})
    assert not caught_up({}), "no group known yet"


def test_a_lag_series_grows_when_its_last_third_is_well_above_its_first() -> None:
    steady = [120, 80, 300, 90, 150, 60, 200, 110, 140]
    assert not verdict(steady).grows
    assert verdict([0, 0, 0, 0, 0, 0, 0, 0, 0]).grows is False
    growing = [100, 400, 900, 1500, 2100, 2800, 3300, 4000, 4600]
    v = verdict(growing)
    assert (
        v.grows
        and v.first_mean == pytest.approx(466.7, abs=0.1)
        and v.last_mean == pytest.approx(3966.7, abs=0.1)
    )
    assert "GROWS" in v.text()
    assert not verdict([5000, 9000]).grows, "two samples cannot tell"
    assert verdict([200, 150, 100, 90, 80, 70]).grows is False, "a backlog draining is not growth"


def test_resident_memory_is_read_from_the_status_file() -> None:
    status = "Name:\tpython\nVmPeak:\t  300000 kB\nVmRSS:\t  123456 kB\nRssAnon:\t 100000 kB\n"
    assert vm_rss_kib(status) == 123456
    assert vm_rss_kib("Name:\tzombie\n") == 0


def test_wrk_summary_is_parsed_with_the_offered_rate() -> None:
    output = (
        "Running 10s test\n"
        'WRK_SUMMARY {"requests": 5000, "duration_us": 10000000, "status_errors": 10, "socket_errors": 2,'
        ' "mean_us": 900.5, "p50_us": 800, "p90_us": 1500, "p99_us": 4200, "max_us": 9000}\n'
    )
    result = parse_summary("intake", output, 1.5, 500)
    assert (result.accepted, result.throughput, result.p99_ms) == (4990, 499.0, 4.2)
    assert "of 500 offered" in result.line()
    with pytest.raises(RuntimeError):
        parse_summary("intake", "no summary here")


def test_phases_are_chosen_by_name() -> None:
    assert bench_main.selected("") == set(bench_main.PHASES), "all but the soak"
    assert "soak" not in bench_main.selected("")
    assert bench_main.selected("lag, replay") == {"lag", "replay"}
    with pytest.raises(typer.BadParameter):
        bench_main.selected("lag,nope")
