"""The exit: everything the county owns written to a directory it can take anywhere, and loaded back into a fresh
CivicLoop.

An archive holds:
- `log/<topic>/partition-<n>.jsonl`: every record of every topic of the deployment (named without the deployment's
  prefix), in offset order per partition: offset, timestamp, key, headers and value, text where the bytes are UTF-8
  (an event's value is its JSON document as the producer wrote it, byte for byte), base64 where they are not;
- `schemas/`: the contract's JSON Schemas, one per event type and version;
- `read-models/<schema>/<table>.csv`: every table of every service schema, with a header row (`COPY ... CSV`);
  a table with a geometry or geography column is also written as `<table>.geojson` (a FeatureCollection, the first
  such column as the geometry, the other columns as properties);
- `manifest.json`: what is in it (topics, partitions and record counts; tables, rows and content hashes; every file
  with its size and SHA-256) and `SHA256SUMS` (`sha256sum -c SHA256SUMS` checks it).

The vault (residents' keys) is left out: an archive is a copy that outlives erasures, and a resident erased after it
was written must stay erased in it; the sealed contacts stay sealed. So are the tables of secrets (`SECRET_TABLES`). Everything streams, a record or a row at a time,
so memory stays bounded whatever the log's size.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from civicloop_events import schemas as contract
from civicloop_events.kafka_connection import client_options
from civicloop_events.topics import Topics, partition_extents
from psycopg import sql

from civicloop_runtime.content_hash import read_model_hash

FORMAT = "civicloop-exit/1"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
# Schemas that are not the county's read models: the database's own, PostGIS's, and the vault (see above).
NOT_EXPORTED = frozenset({"public", "information_schema", "tiger", "tiger_data", "topology", "vault"})
# Tables of secrets and of short-lived sign-in state: password hashes, TOTP secrets, reset tickets, residents' one-time
# codes and sessions, and text-message reports still being typed (a resident's words in clear, not yet filed). None is
# a record of the county's work; each is a credential, or personal data outside the sealed contacts.
SECRET_TABLES = frozenset(
    {
        "intake.staff_credentials",
        "intake.staff_totp_pending",
        "intake.staff_reset_tokens",
        "intake.staff_oidc_pending",
        "intake.resident_codes",
        "intake.resident_sessions",
        "notifier.text_report_conversations",
    }
)
_PRODUCE_WINDOW = 1000  # records in flight while loading: the memory bound of a load
_CHUNK = 1 << 20


class ArchiveError(RuntimeError):
    """The archive is damaged, or the CivicLoop it would load into is not empty."""


@dataclass(frozen=True)
class Exported:
    directory: Path
    records: int
    rows: int
    files: int


def topic_names(topics: Topics) -> dict[str, str]:
    """The deployment's topics by their name without its prefix (what an archive calls them)."""
    return {spec.name.removeprefix(topics.prefix): spec.name for spec in topics.specs()}


# --- bytes as JSON --------------------------------------------------------------------------------------------------


def encode_bytes(field: str, data: bytes | None) -> dict[str, Any]:
    """`{field: text}` for UTF-8 bytes, `{field_b64: ...}` for any other, `{field: None}` for none."""
    if data is None:
        return {field: None}
    try:
        return {field: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{field}_b64": base64.b64encode(data).decode("ascii")}


def decode_bytes(field: str, doc: dict[str, Any]) -> bytes | None:
    if f"{field}_b64" in doc:
        return base64.b64decode(doc[f"{field}_b64"])
    text = doc.get(field)
    return None if text is None else text.encode("utf-8")


def record_line(
    *,
    offset: int,
    timestamp: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
) -> str:
    doc: dict[str, Any] = {"offset": offset, "timestamp_ms": timestamp}
    doc |= encode_bytes("key", key)
    doc["headers"] = [{"name": name} | encode_bytes("value", data) for name, data in headers]
    doc |= encode_bytes("value", value)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


# --- export ---------------------------------------------------------------------------------------------------------


async def export(
    directory: Path, *, bootstrap: str, topics: Topics, dsn: str, schemas: Sequence[str] | None = None
) -> Exported:
    """Write the archive into `directory` (created; it must not hold a manifest already)."""
    _make_dir(directory)
    if (directory / MANIFEST).exists():
        raise ArchiveError(f"{directory} holds an archive already")
    log = {
        name: await _export_topic(directory / "log" / name, bootstrap, topic)
        for name, topic in topic_names(topics).items()
    }
    contract.write(directory / "schemas")
    read_models = await _export_read_models(directory / "read-models", dsn, schemas)
    files = _checksums(directory)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "topics": log,
        "read_models": read_models,
        "attachments": "none: intake stores no files (a request's media are URLs, on the log)",
        "left_out": {"schemas": ["vault"], "tables": sorted(SECRET_TABLES)},
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    files[MANIFEST] = {
        "bytes": (directory / MANIFEST).stat().st_size,
        "sha256": _sha256(directory / MANIFEST),
    }
    (directory / CHECKSUMS).write_text(
        "".join(f"{f['sha256']}  {path}\n" for path, f in sorted(files.items()))
    )
    return Exported(
        directory=directory,
        records=sum(sum(t["records"].values()) for t in log.values()),
        rows=sum(t["rows"] for m in read_models.values() for t in m["tables"].values()),
        files=len(files),
    )


async def _export_topic(directory: Path, bootstrap: str, topic: str) -> dict[str, Any]:
    extents = await partition_extents(bootstrap, topic)
    _make_dir(directory)
    counts: dict[str, int] = {}
    for partition, (start, end) in extents.items():
        with (directory / f"partition-{partition:04d}.jsonl").open("w", encoding="utf-8") as out:
            counts[str(partition)] = 0
            async for line in _partition_lines(bootstrap, topic, partition, start, end):
                out.write(line + "\n")
                counts[str(partition)] += 1
    return {"partitions": len(extents), "records": counts}


async def _partition_lines(
    bootstrap: str, topic: str, partition: int, start: int, end: int
) -> AsyncIterator[str]:
    """The records of one partition from `start` up to `end` (the end when the export began), in offset order."""
    if start >= end:
        return
    tp = TopicPartition(topic, partition)
    # No producer of the log is transactional: reading uncommitted, the position always reaches the end offset.
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=500)
            for record in batch.get(tp, []):
                if record.offset >= end:
                    return
                yield record_line(
                    offset=record.offset,
                    timestamp=record.timestamp,
                    key=record.key,
                    value=record.value,
                    headers=list(record.headers),
                )
    finally:
        await consumer.stop()


async def _export_read_models(directory: Path, dsn: str, schemas: Sequence[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        # One snapshot for everything: the CSVs, their row counts and hashes agree even if a consumer still ran.
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await conn.set_read_only(True)
        async with conn.transaction():
            for schema in schemas if schemas is not None else await _service_schemas(conn):
                await _export_schema(conn, directory, schema, out)
    return out


async def _export_schema(
    conn: psycopg.AsyncConnection[Any], directory: Path, schema: str, out: dict[str, Any]
) -> None:
    tables = await _tables(conn, schema)
    if not tables:
        return
    _make_dir(directory / schema)
    hashes = await read_model_hash(conn, schema, tables)
    described: dict[str, Any] = {}
    for table in tables:
        described[table] = {
            "rows": await _copy_csv(conn, schema, table, directory / schema / f"{table}.csv"),
            "content_sha256": hashes.tables[table],
        }
        spatial = await _spatial_column(conn, schema, table)
        if spatial:
            await _write_geojson(conn, schema, table, spatial, directory / schema / f"{table}.geojson")
            described[table]["geometry"] = spatial
    out[schema] = {"tables": described, "content_sha256": hashes.combined}


async def _service_schemas(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    cur = await conn.execute(
        "select nspname from pg_namespace where nspname !~ '^pg_' and nspname <> all(%s) order by nspname",
        (sorted(NOT_EXPORTED),),
    )
    return [row[0] for row in await cur.fetchall()]


async def _tables(conn: psycopg.AsyncConnection[Any], schema: str) -> list[str]:
    cur = await conn.execute(
        "select table_name from information_schema.tables"
        " where table_schema = %s and table_type = 'BASE TABLE' order by table_name",
        (schema,),
    )
    return [row[0] for row in await cur.fetchall() if f"{schema}.{row[0]}" not in SECRET_TABLES]


async def _spatial_column(conn: psycopg.AsyncConnection[Any], schema: str, table: str) -> str | None:
    cur = await conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
        " and udt_name in ('geometry', 'geography') order by ordinal_position limit 1",
        (schema, table),
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def _copy_csv(conn: psycopg.AsyncConnection[Any], schema: str, table: str, path: Path) -> int:
    query = sql.SQL("copy (select * from {}) to stdout with (format csv, header)").format(
        sql.Identifier(schema, table)
    )
    with path.open("wb") as out:
        async with conn.cursor() as cur, cur.copy(query) as copy:
            async for chunk in copy:
                out.write(chunk)
    cur = await conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table)))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _write_geojson(
    conn: psycopg.AsyncConnection[Any], schema: str, table: str, column: str, path: Path
) -> None:
    query = sql.SQL(
        "select ST_AsGeoJSON(s.*, '__geometry')::text from"
        " (select t.*, t.{column}::geometry as __geometry from {table} t) s"
    ).format(column=sql.Identifier(column), table=sql.Identifier(schema, table))
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        first = True
        async for (feature,) in conn.cursor().stream(query):
            out.write(("" if first else ",\n") + _without_geometry_property(feature, column))
            first = False
        out.write("\n]}\n")


def _without_geometry_property(feature: str, column: str) -> str:
    """The geometry is the feature's; its column's hex copy among the properties says nothing more."""
    doc = json.loads(feature)
    doc.get("properties", {}).pop(column, None)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


# --- checksums ------------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _checksums(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(directory).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name not in (MANIFEST, CHECKSUMS)
    }


def verify(directory: Path) -> dict[str, Any]:
    """The archive's manifest, once every file `SHA256SUMS` lists is there with its checksum, and nothing else is."""
    listed: dict[str, str] = {}
    for line in (directory / CHECKSUMS).read_text().splitlines():
        digest, _, path = line.partition("  ")
        listed[path] = digest
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()} - {CHECKSUMS}
    if present != set(listed):
        raise ArchiveError(f"files missing or unlisted: {sorted(present ^ set(listed))}")
    damaged = [path for path, digest in sorted(listed.items()) if _sha256(directory / path) != digest]
    if damaged:
        raise ArchiveError(f"checksums differ: {damaged}")
    manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ArchiveError(f"not a {FORMAT} archive")
    return manifest


# --- load -----------------------------------------------------------------------------------------------------------


def archived_records(path: Path) -> Iterable[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


async def load(directory: Path, *, bootstrap: str, topics: Topics) -> int:
    """Publish the archive's log into `topics` (created with the archive's partition counts; they must be empty),
    each record to its partition, in its order, with its key, headers and timestamp. Returns the records loaded."""
    manifest = verify(directory)
    names = topic_names(topics)
    unknown = set(manifest["topics"]) - set(names)
    if unknown:
        raise ArchiveError(f"the archive has topics this CivicLoop does not: {sorted(unknown)}")
    await _create_empty(bootstrap, {names[n]: t["partitions"] for n, t in manifest["topics"].items()})
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    loaded = 0
    try:
        for name, described in manifest["topics"].items():
            for partition in range(described["partitions"]):
                path = directory / "log" / name / f"partition-{partition:04d}.jsonl"
                loaded += await _produce_partition(producer, names[name], partition, archived_records(path))
    finally:
        await producer.stop()
    return loaded


async def _produce_partition(
    producer: AIOKafkaProducer, topic: str, partition: int, records: Iterable[dict[str, Any]]
) -> int:
    in_flight = []
    count = 0
    for doc in records:
        headers = [(h["name"], decode_bytes("value", h) or b"") for h in doc["headers"]]
        in_flight.append(
            await producer.send(
                topic,
                value=decode_bytes("value", doc),
                key=decode_bytes("key", doc),
                partition=partition,
                timestamp_ms=doc["timestamp_ms"],
                headers=headers,
            )
        )
        count += 1
        if len(in_flight) >= _PRODUCE_WINDOW:
            await _settle(in_flight)
    await _settle(in_flight)
    return count


async def _settle(in_flight: list[Any]) -> None:
    for future in in_flight:
        await future
    in_flight.clear()


async def _create_empty(bootstrap: str, partitions: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=30_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        forever = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
        missing = [
            NewTopic(t, n, 1, topic_configs=forever) for t, n in partitions.items() if t not in existing
        ]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()
    for topic, count in partitions.items():
        extents = await partition_extents(bootstrap, topic)
        if len(extents) != count:
            raise ArchiveError(f"{topic} has {len(extents)} partitions, the archive {count}")
        if any(end > 0 for _, end in extents.values()):
            raise ArchiveError(f"{topic} is not empty: an archive loads into a fresh CivicLoop only")
