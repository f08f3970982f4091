"""The open-data export on disk: every public request read through a server-side cursor in batches, written as CSV
and GeoJSON beside the data dictionary, into a directory of its own that appears whole (written under a temporary
name, then renamed), with `latest` a symlink replaced atomically. Bounded memory: one batch at a time.

    <directory>/
      20261205T120000Z-1a2b3c/   requests.csv, requests.geojson, requests.parquet (a row group per batch),
                                 data-dictionary.json, data-dictionary.csv,
                                 manifest.json (rows, generated_at, each file's SHA-256)
      latest -> 20261205T120000Z-1a2b3c
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from civicloop_projections.domain import open_data

CSV_FILE = "requests.csv"
GEOJSON_FILE = "requests.geojson"
PARQUET_FILE = "requests.parquet"
DICTIONARY_JSON = "data-dictionary.json"
DICTIONARY_CSV = "data-dictionary.csv"
MANIFEST = "manifest.json"
FILES = (CSV_FILE, GEOJSON_FILE, PARQUET_FILE, DICTIONARY_JSON, DICTIONARY_CSV, MANIFEST)
LATEST = "latest"
EXPORT_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_PARTIAL = ".partial-"

# The public read model and the public catalogue, nothing else; ordered by number (the primary key's index).
SELECT = f"""select {", ".join(f"p.{c}" if c != "service_name" else "s.service_name" for c in open_data.SOURCE_COLUMNS)}
    from projections.public_requests p
    left join projections.services s using (jurisdiction_id, service_code)
    order by p.request_number"""

Progress = Callable[[int], None]  # rows written so far in this batch


@dataclass(frozen=True)
class ExportResult:
    export_id: str
    path: Path
    rows: int


def new_export_id(now: datetime | None = None) -> str:
    return f"{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


def count_rows(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("select count(*) from projections.public_requests").fetchone()
    return int(row[0]) if row else 0


def export(
    conn: psycopg.Connection[Any],
    directory: Path,
    *,
    export_id: str | None = None,
    batch_rows: int = 10_000,
    keep: int = 7,
    on_rows: Progress | None = None,
) -> ExportResult:
    """Write one export of every public request under `directory` and point `latest` at it; keep the `keep` newest
    exports. Reads one consistent snapshot (a repeatable-read transaction)."""
    export_id = export_id or new_export_id()
    if not EXPORT_ID.match(export_id):
        raise ValueError("an export id is a UTC time and six hex digits")
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f"{_PARTIAL}{export_id}"
    partial.mkdir()
    try:
        generated_at = datetime.now(UTC)
        rows = _write_rows(conn, partial, batch_rows=batch_rows, on_rows=on_rows)
        (partial / DICTIONARY_JSON).write_text(open_data.dictionary_json(), encoding="utf-8")
        (partial / DICTIONARY_CSV).write_text(open_data.dictionary_csv(), encoding="utf-8")
        manifest = {
            "export_id": export_id,
            "generated_at": generated_at.isoformat().replace("+00:00", "Z"),
            "rows": rows,
            "source": "projections.public_requests (no personal data by construction; docs/open-data.md)",
            "files": {name: _sha256(partial / name) for name in FILES if name != MANIFEST},
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _fsync_dir(partial)
        final = directory / export_id
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    point_latest(directory, export_id)
    prune(directory, keep=keep)
    return ExportResult(export_id, final, rows)


def _write_rows(
    conn: psycopg.Connection[Any], into: Path, *, batch_rows: int, on_rows: Progress | None
) -> int:
    rows = 0
    with (
        conn.transaction(),
        (into / CSV_FILE).open("w", encoding="utf-8", newline="") as csv_fh,
        (into / GEOJSON_FILE).open("w", encoding="utf-8") as geo_fh,
        _ParquetSink(into / PARQUET_FILE) as parquet,
    ):
        conn.execute("set transaction isolation level repeatable read, read only")
        writer = csv.writer(csv_fh, lineterminator="\n")
        writer.writerow(open_data.NAMES)
        geo_fh.write(open_data.GEOJSON_HEAD)
        # A named cursor is a server-side cursor: PostgreSQL keeps the result, the client holds one batch.
        with conn.cursor(name="open_data_export") as cur:
            cur.itersize = batch_rows
            cur.execute(SELECT)
            while batch := cur.fetchmany(batch_rows):
                records = [open_data.record(r) for r in batch]
                writer.writerows(open_data.csv_cells(r) for r in records)
                features = ",\n".join(open_data.geojson_feature(r) for r in records)
                geo_fh.write(features if rows == 0 else ",\n" + features)
                parquet.write(records)
                rows += len(batch)
                if on_rows is not None:
                    on_rows(len(batch))
        geo_fh.write(open_data.GEOJSON_TAIL)
        for fh in (csv_fh, geo_fh):
            fh.flush()
            os.fsync(fh.fileno())
    return rows


class _ParquetSink:
    """requests.parquet: the same fields, typed (times as UTC timestamps, areas as a list), one row group per batch
    (pyarrow, imported here so the service's other commands do not load it)."""

    def __init__(self, path: Path) -> None:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        kinds = {
            "string": pa.string(),
            "integer": pa.int16(),
            "number": pa.float64(),
            "datetime": pa.timestamp("us", tz="UTC"),
            "string list": pa.list_(pa.string()),
        }
        self._pa = pa
        self._fields = [(f.name, kinds[f.type], f.type == "datetime") for f in open_data.FIELDS]
        self._schema = pa.schema([(name, kind) for name, kind, _ in self._fields])
        self._path = path
        self._writer = pq.ParquetWriter(path, self._schema, compression="zstd")

    def __enter__(self) -> _ParquetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()
        with self._path.open("rb") as fh:
            os.fsync(fh.fileno())

    def write(self, records: list[dict[str, Any]]) -> None:
        pa = self._pa
        columns = [
            # ISO 8601 text (the records' form) cast to a timestamp by Arrow, not parsed again in Python
            pa.array([r[name] for r in records], pa.string()).cast(kind)
            if is_time
            else pa.array([r[name] for r in records], kind)
            for name, kind, is_time in self._fields
        ]
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self._schema))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def point_latest(directory: Path, export_id: str) -> None:
    """`latest` -> `export_id`, replaced in one rename: a reader sees the old export or the new, never neither."""
    temporary = directory / f".latest-{export_id}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(export_id)
    os.replace(temporary, directory / LATEST)
    _fsync_dir(directory)


def resolve(directory: Path, export_id: str) -> Path | None:
    """The finished export `export_id` (or `latest`) under `directory`, if there is one."""
    if export_id == LATEST:
        link = directory / LATEST
        if not link.is_symlink():
            return None
        export_id = os.readlink(link)
    if not EXPORT_ID.match(export_id):
        return None
    path = directory / export_id
    return path if (path / MANIFEST).is_file() else None


def prune(directory: Path, *, keep: int) -> None:
    """Remove all but the `keep` newest finished exports (ids sort by time); `latest`'s is always kept."""
    finished = sorted(p.name for p in directory.iterdir() if EXPORT_ID.match(p.name) and p.is_dir())
    current = os.readlink(directory / LATEST) if (directory / LATEST).is_symlink() else None
    for name in finished[: max(0, len(finished) - keep)]:
        if name != current:
            shutil.rmtree(directory / name, ignore_errors=True)
