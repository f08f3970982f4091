"""The open-data export of a million requests: rows per second and the exporting process's peak memory, beside a
ceiling measured in the same run.

The public read model (`projections.public_requests`) of a scratch database is filled with SQL (`generate_series`):
folding a million submissions through Kafka would measure the fold again (see replay), and what is measured here
is the export. Then `civicloop-projections open-data` runs as its own process, as a cron runs it; its wall-clock
time (start-up included) gives rows/s, and its peak RSS is the kernel's (`wait4`'s `ru_maxrss` of that process).
The ceiling: a plain `COPY (the export's own select) TO STDOUT`, read and dropped by this process, on the same rows.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from civicloop_projections.adapters.open_data_export import SELECT
from civicloop_testing.processes import script

from bench.harness import ROOT, scratch_database

FILL = """insert into projections.public_requests (request_number, jurisdiction_id, service_code, status,
      submitted_at, acknowledged_at, closed_at, close_reason, h3_cell, h3_resolution, cell_lat, cell_long,
      block_address, service_areas, public_note)
    select format('CL-%%s', lpad(i::text, 8, '0')), 'demo',
      (array['bulky-items','graffiti','illegal-dumping','appliances','e-waste','streetlight'])[1 + i %% 6],
      case when i %% 4 = 0 then 'open' when i %% 4 = 1 then 'acknowledged' else 'closed' end,
      timestamptz '2024-11-01' + i * interval '63 seconds',
      case when i %% 4 <> 0 then timestamptz '2024-11-01' + i * interval '63 seconds' + interval '3 hours' end,
      case when i %% 4 >= 2 then timestamptz '2024-11-01' + i * interval '63 seconds' + interval '2 days' end,
      case when i %% 4 >= 2 then 'fixed' end,
      '892a1008003ffff', 9, 33.95 + (i %% 997) / 3000.0, -118.45 + (i %% 991) / 3000.0,
      format('%%s00 block of %%s St', i %% 97, (array['Main','Spring','Olive','Hill'])[1 + i %% 4]),
      array[format('Council District %%s', 1 + i %% 15)],
      case when i %% 4 >= 2 then 'Collected, thank you' end
    from generate_series(1, %s) as i"""
CATALOGUE = """insert into projections.services (jurisdiction_id, service_code, service_name, description,
      service_group, keywords, type, attributes, active, defined_at, last_event_id)
    select 'demo', code, initcap(replace(code, '-', ' ')), '', 'sanitation', '{}', 'realtime', '[]', true, now(),
      gen_random_uuid()
    from unnest(array['bulky-items','graffiti','illegal-dumping','appliances','e-waste','streetlight']) as code"""


def fill(dsn: str, rows: int) -> float:
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(CATALOGUE)
        conn.execute(FILL, (rows,))
        conn.execute("analyze projections.public_requests")
    return time.perf_counter() - started


def copy_ceiling(dsn: str) -> tuple[int, float]:
    """COPY of the export's select to this process (bytes read and dropped): rows and seconds."""
    started, lines = time.perf_counter(), 0
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        conn.cursor() as cur,
        cur.copy(f"copy ({SELECT}) to stdout") as copy,
    ):
        for chunk in copy:
            lines += bytes(chunk).count(b"\n")
    return lines, time.perf_counter() - started


def exported(dsn: str, directory: Path) -> tuple[float, float, int]:
    """`civicloop-projections open-data` as its own process: seconds, its peak RSS (MB) and exit status."""
    env = {**os.environ, "CIVICLOOP_PG_DSN": dsn, "CIVICLOOP_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [script("civicloop-projections"), "open-data", "--dir", str(directory)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss * 1024 / 1e6, proc.returncode


def _megabytes(path: Path) -> float:
    return path.stat().st_size / 1e6


async def run(rows: int) -> list[str]:
    return await asyncio.to_thread(_run, rows)


def _run(rows: int) -> list[str]:
    with scratch_database("cl_bench_opendata") as dsn:
        env = {**os.environ, "CIVICLOOP_PG_DSN": dsn}
        subprocess.run(
            [script("civicloop-projections"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        with tempfile.TemporaryDirectory(prefix="open-data-bench-") as scratch:
            # The same command on an empty read model: its start-up time and memory, the baseline of both figures.
            empty_s, empty_mb, code = exported(dsn, Path(scratch) / "empty")
            filled = fill(dsn, rows)
            copied, copy_s = copy_ceiling(dsn)
            directory = Path(scratch) / "full"
            seconds, peak_mb, code = exported(dsn, directory)
            if code != 0:
                raise RuntimeError(f"civicloop-projections open-data exited with {code}")
            latest = directory / "latest"
            csv_mb, geo_mb = _megabytes(latest / "requests.csv"), _megabytes(latest / "requests.geojson")
            parquet_mb = _megabytes(latest / "requests.parquet")
            with (latest / "requests.csv").open("rb") as fh:
                written = sum(1 for _ in fh) - 1
    export_rate, copy_rate = written / seconds, copied / copy_s
    work_rate = written / max(seconds - empty_s, 1e-9)
    return [
        f"{'open-data export of an empty read model (start-up)':<52} {empty_s:10.1f} s, peak RSS {empty_mb:.1f} MB",
        f"public read model filled with {rows} requests by SQL in {filled:.1f} s",
        f"{'ceiling: COPY (the export select) TO STDOUT':<52} {copy_rate:10.0f} rows/s ({copied} rows, {copy_s:.1f} s)",
        f"{'open-data export (CSV, GeoJSON, Parquet)':<52} {export_rate:10.0f} rows/s ({written} rows,"
        f" {seconds:.1f} s, start-up included; {export_rate / copy_rate:.1%} of the ceiling;"
        f" {work_rate:.0f} rows/s without the start-up)",
        f"{'peak RSS of the exporting process':<52} {peak_mb:10.1f} MB ({peak_mb - empty_mb:+.1f} MB over start-up; CSV {csv_mb:.0f} MB, GeoJSON {geo_mb:.0f} MB, Parquet {parquet_mb:.0f} MB)",
        f"reproduce: uv run --frozen python -m bench --only open-data --open-data-rows {rows}",
    ]
