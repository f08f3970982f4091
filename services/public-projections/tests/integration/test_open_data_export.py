"""The open-data export on the real database: every public row, in batches, as CSV and GeoJSON beside the data
dictionary, appearing whole under the export directory with `latest` pointing at it; the admin routes that fire it
and serve its files; and a world of residents folded from the log whose strings appear in none of its files."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta

import psycopg
import pyarrow.parquet as pq
import pytest
from asgi_lifespan import LifespanManager
from civicloop_projections.adapters import open_data_export
from civicloop_projections.domain import open_data
from civicloop_projections.entrypoints.http import create_app
from civicloop_projections.entrypoints.open_data import run_export
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from httpx import ASGITransport, AsyncClient
from projection_events import new_jurisdiction
from projection_harness import caught_up, consumers_running, settings_for
from test_public_pages import _world

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def _fill(dsn: str, count: int) -> None:
    """`count` public rows (a few without a place, a few closed) and the catalogue's name of one category."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """insert into projections.services (jurisdiction_id, service_code, service_name, description,
                 service_group, keywords, type, attributes, active, defined_at, last_event_id)
               values ('demo', 'pothole', 'Pothole', '', 'streets', '{}', 'realtime', '[]', true, now(),
                 gen_random_uuid())"""
        )
        conn.execute(
            """insert into projections.public_requests (request_number, jurisdiction_id, service_code, status,
                 submitted_at, closed_at, close_reason, h3_cell, h3_resolution, cell_lat, cell_long,
                 block_address, service_areas)
               select format('CL-%%s', lpad(i::text, 6, '0')), 'demo',
                 case when i %% 2 = 0 then 'pothole' else 'graffiti' end,
                 case when i %% 3 = 0 then 'closed' else 'open' end,
                 %s::timestamptz + i * interval '1 minute',
                 case when i %% 3 = 0 then %s::timestamptz + i * interval '2 minutes' end,
                 case when i %% 3 = 0 then 'fixed' end,
                 case when i %% 5 <> 0 then '892a1008003ffff' end, case when i %% 5 <> 0 then 9 end,
                 case when i %% 5 <> 0 then 39.29 + i / 1e6 end, case when i %% 5 <> 0 then -76.61 end,
                 'Main St', array['District 3']
               from generate_series(1, %s) as i""",
            (BASE, BASE, count),
        )


def test_every_public_row_lands_in_csv_and_geojson_in_batches(fresh_migrated_dsn, tmp_path):
    _fill(fresh_migrated_dsn, 23)
    batches: list[int] = []
    with psycopg.connect(fresh_migrated_dsn, autocommit=True) as conn:
        result = open_data_export.export(conn, tmp_path, batch_rows=5, on_rows=batches.append)

    assert result.rows == 23 and batches == [5, 5, 5, 5, 3]
    assert os.readlink(tmp_path / "latest") == result.export_id
    latest = tmp_path / "latest"
    with (latest / "requests.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["service_request_id"] for r in rows] == [f"CL-{i:06d}" for i in range(1, 24)]
    assert tuple(rows[0]) == open_data.NAMES
    assert rows[1]["service_name"] == "Pothole" and rows[0]["service_name"] == ""
    assert rows[2]["status"] == "closed" and rows[2]["close_reason"] == "fixed"
    assert rows[4]["lat"] == "" and rows[3]["lat"] != ""
    collection = json.loads((latest / "requests.geojson").read_text())
    features = collection["features"]
    assert collection["type"] == "FeatureCollection" and len(features) == 23
    assert features[4]["geometry"] is None
    assert features[0]["geometry"]["coordinates"] == [-76.61, pytest.approx(39.290001)]
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["rows"] == 23 and set(manifest["files"]) == {
        "requests.csv",
        "requests.geojson",
        "requests.parquet",
        "data-dictionary.json",
        "data-dictionary.csv",
    }
    assert (
        json.loads((latest / "data-dictionary.json").read_text())["fields"][0]["name"] == "service_request_id"
    )
    table = pq.read_table(latest / "requests.parquet")
    assert table.num_rows == 23 and table.column_names == list(open_data.NAMES)
    assert pq.ParquetFile(latest / "requests.parquet").metadata.num_row_groups == 5
    first = table.slice(0, 1).to_pylist()[0]
    assert first["requested_datetime"] == BASE + timedelta(minutes=1)
    assert first["service_areas"] == ["District 3"] and first["h3_resolution"] == 9
    assert table.slice(4, 1).to_pylist()[0]["lat"] is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial or temporary link left


def test_a_new_export_moves_latest_and_old_ones_are_pruned(fresh_migrated_dsn, tmp_path):
    _fill(fresh_migrated_dsn, 3)
    ids = []
    with psycopg.connect(fresh_migrated_dsn, autocommit=True) as conn:
        for n in range(3):
            export_id = open_data_export.new_export_id(BASE + timedelta(minutes=n))
            ids.append(open_data_export.export(conn, tmp_path, export_id=export_id, keep=2).export_id)
    assert os.readlink(tmp_path / "latest") == ids[-1]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "latest") == ids[1:]


def test_a_failed_export_leaves_no_directory_and_latest_where_it_was(fresh_migrated_dsn, tmp_path):
    _fill(fresh_migrated_dsn, 3)
    with psycopg.connect(fresh_migrated_dsn, autocommit=True) as conn:
        first = open_data_export.export(conn, tmp_path)

        def broken(_rows: int) -> None:
            raise RuntimeError("disk full")

        with pytest.raises(RuntimeError):
            open_data_export.export(conn, tmp_path, on_rows=broken)
    assert os.readlink(tmp_path / "latest") == first.export_id
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.export_id, "latest"])


async def test_admins_fire_an_export_and_fetch_its_files_others_are_refused(
    fresh_migrated_dsn, fresh_topics, kafka_bootstrap, tmp_path
):
    _fill(fresh_migrated_dsn, 12)
    settings = settings_for(fresh_migrated_dsn, fresh_topics, kafka_bootstrap, open_data_dir=tmp_path)
    app = create_app(settings, staff_verifier=verifier_for_tests(), start_consumers=False)
    admin = staff_headers(None, "admin")
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://projections.test") as client,
    ):
        url = "/api/v1/admin/open-data/exports"
        assert (await client.post(url)).status_code == 401
        for role in ("agent", "supervisor", "auditor"):
            assert (await client.post(url, headers=staff_headers(None, role))).status_code == 403
        assert (await client.get(f"{url}/latest/requests.csv", headers=staff_headers())).status_code == 403

        started = await client.post(url, headers=admin)
        assert started.status_code == 202
        export_id = started.json()["export_id"]

        async def done():
            state = (await client.get(f"{url}/{export_id}", headers=admin)).json()
            assert state["state"] != "failed"
            return state if state["state"] == "done" else None

        state = await eventually(done, timeout=30, what="the export")
        assert state["rows"] == 12 and state["links"]["requests.csv"].endswith(f"{export_id}/requests.csv")
        body = await client.get(f"{url}/latest/requests.csv", headers=admin)
        assert body.status_code == 200 and body.headers["content-type"].startswith("text/csv")
        assert len(body.text.strip().splitlines()) == 13
        geo = await client.get(f"{url}/{export_id}/requests.geojson", headers=admin)
        assert len(geo.json()["features"]) == 12
        parquet = await client.get(f"{url}/latest/requests.parquet", headers=admin)
        assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
        assert (await client.get(f"{url}/latest/..%2Fsecrets", headers=admin)).status_code == 404
        assert (await client.get(f"{url}/20991231T000000Z-abcdef", headers=admin)).status_code == 404


async def test_residents_folded_from_the_log_leave_no_string_in_the_export(
    projections, request_producer, tmp_path
):
    jurisdiction = new_jurisdiction()
    events, personal = _world(jurisdiction, datetime.now(UTC))
    positions = await request_producer.publish_many(events)
    async with consumers_running(projections):
        await caught_up(projections, projections.settings.public_consumer_name, positions)

    settings = projections.settings.model_copy(update={"open_data_dir": tmp_path})
    result = run_export(settings)
    texts = {
        name: (result.path / name).read_text()
        for name in open_data_export.FILES
        if name != "requests.parquet"
    }
    texts["requests.parquet"] = repr(pq.read_table(result.path / "requests.parquet").to_pylist())
    with (result.path / "requests.csv").open(newline="") as fh:
        ours = [r for r in csv.DictReader(fh) if r["jurisdiction_id"] == jurisdiction]
    assert len(ours) == 6 and sum(r["status"] == "closed" for r in ours) == 3
    for text in texts.values():
        for value in personal:
            assert value not in text
