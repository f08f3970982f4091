"""The exit on the real broker and PostGIS: `civicloop-exit export` writes the log, the schemas and the projections
as an archive with checksums; `civicloop-exit load` puts that log into a fresh CivicLoop (topics and a database of
their own), whose `civicloop-projections rebuild` prints the content hash the first one had."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path

import pytest
from civicloop_events.topics import Topics
from civicloop_projections.adapters import tables
from civicloop_projections.entrypoints.rebuild import rebuild
from civicloop_runtime.exit_archive import verify
from civicloop_testing import create_database, drop_database, make_topics
from projection_harness import bootstrapped, migrate, settings_for
from test_projection_rebuild import publish_history, run_cli

pytestmark = pytest.mark.integration


async def exit_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_runtime.exit_cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    return process.returncode, out.decode(), err.decode()


def exit_env(dsn: str, topics: Topics, kafka_bootstrap: str) -> dict[str, str]:
    return {
        **os.environ,
        "CIVICLOOP_PG_DSN": dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_TOPIC_PREFIX": topics.prefix,
        "CIVICLOOP_TOPIC_PARTITIONS": str(topics.partitions),
    }


@pytest.fixture
def second_dsn(pg_admin_dsn):
    """The fresh CivicLoop's database: migrated, empty."""
    dsn = create_database(pg_admin_dsn)
    yield migrate(dsn)
    drop_database(pg_admin_dsn, dsn)


async def test_an_archives_log_loaded_into_a_fresh_civicloop_rebuilds_equal_projections(
    fresh_migrated_dsn, second_dsn, fresh_topics, kafka_bootstrap, request_producer, tmp_path: Path
):
    config, requests = await publish_history(kafka_bootstrap, fresh_topics, request_producer)
    first = settings_for(fresh_migrated_dsn, fresh_topics, kafka_bootstrap)
    async with bootstrapped(first) as projections:
        await rebuild(projections)
        async with projections.pool.connection() as conn:
            original = await tables.content_hash(conn)
            counts = await tables.row_counts(conn)
    assert counts["agent_requests"] == 14

    archive = tmp_path / "archive"
    env = exit_env(fresh_migrated_dsn, fresh_topics, kafka_bootstrap)
    code, out, err = await exit_cli(env, "export", str(archive), "--schema", "projections")
    assert code == 0, err
    assert f"{len(config) + len(requests)} records" in out

    manifest = verify(archive)
    # Every table of the schema is in the archive (its inbox and positions too), each with the hash a rebuild prints.
    archived = manifest["read_models"]["projections"]["tables"]
    assert {t: archived[t]["content_sha256"] for t in original.tables} == original.tables
    assert {"inbox", "consumer_positions"} <= set(archived)
    assert {n: t["records"] for n, t in manifest["topics"].items()} == {
        "requests.events": {
            str(p): sum(1 for r in requests if r.partition == p) for p in range(fresh_topics.partitions)
        },
        "requests.events.dlq": {"0": 0},
        "jurisdiction.config": {"0": len(config)},
    }
    with (archive / "read-models" / "projections" / "agent_requests.csv").open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 14
    areas = json.loads((archive / "read-models" / "projections" / "service_areas.geojson").read_text())
    assert len(areas["features"]) == 3 and areas["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert (archive / "schemas").is_dir() and any((archive / "schemas").glob("*.json"))
    first_line = json.loads(
        next(p for p in sorted((archive / "log" / "requests.events").glob("*.jsonl")) if p.stat().st_size)
        .read_text()
        .splitlines()[0]
    )
    assert first_line["offset"] == 0 and json.loads(first_line["value"])["event_id"]

    # A damaged archive is refused before anything is loaded.
    fresh = await make_topics(kafka_bootstrap, partitions=fresh_topics.partitions)
    target = exit_env(second_dsn, fresh, kafka_bootstrap)
    damaged = archive / "read-models" / "projections" / "services.csv"
    intact = damaged.read_bytes()
    damaged.write_bytes(intact + b"x")
    code, _, err = await exit_cli(target, "load", str(archive))
    assert code == 1 and "checksums differ" in err
    damaged.write_bytes(intact)

    code, out, err = await exit_cli(target, "load", str(archive))
    assert code == 0, err
    assert f"{len(config) + len(requests)} records loaded" in out
    code, _, err = await exit_cli(target, "load", str(archive))
    assert code == 1 and "not empty" in err  # loads into a fresh CivicLoop only

    second = settings_for(second_dsn, fresh, kafka_bootstrap)
    code, out, err = await run_cli(second, "rebuild")
    assert code == 0, err
    assert f"content-sha256 projections {original.combined}" in out
    async with bootstrapped(second) as projections, projections.pool.connection() as conn:
        assert await tables.content_hash(conn) == original
        assert await tables.dump(conn) == await _dump(fresh_migrated_dsn)

    # `civicloop-exit hashes` prints the same lines for any schema, here both deployments' projections.
    printed = []
    for env in (exit_env(fresh_migrated_dsn, fresh_topics, kafka_bootstrap), target):
        code, out, err = await exit_cli(env, "hashes", "--schema", "projections")
        assert code == 0, err
        printed.append(
            {
                line
                for line in out.splitlines()
                if line.split()[1] in {f"projections.{t}" for t in original.tables}
            }
        )
    assert (
        printed[0]
        == printed[1]
        == {f"content-sha256 projections.{t} {digest}" for t, digest in original.tables.items()}
    )


async def _dump(dsn: str) -> dict[str, list[str]]:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        return await tables.dump(conn)
