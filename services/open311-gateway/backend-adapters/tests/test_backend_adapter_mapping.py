"""Pure translation: dotted paths, value specs, status maps, timestamps, row hashes, CSV rows, work-order items."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from backend_adapter_configs import CSV_SETTINGS
from civicloop_backend_adapters.adapters.csv_feed import merge, parse_export
from civicloop_backend_adapters.adapters.rest_workorder import item_to_update
from civicloop_backend_adapters.config import (
    AdapterAppConfig,
    CsvFeedSettings,
    ListCall,
)
from civicloop_backend_adapters.domain.backend import Update, request_rows
from civicloop_backend_adapters.domain.mapping import (
    MappingError,
    build_document,
    get_path,
    map_status,
    parse_timestamp,
    post_context,
    resolve_value,
    update_hash,
)
from civicloop_runtime.secrets import SecretNotFound, resolve_secret, secret_env_name
from pydantic import ValidationError


def test_get_path_reads_objects_and_arrays_and_defaults() -> None:
    doc = {"data": {"items": [{"id": 7}, {"id": 8}]}}
    assert get_path(doc, "data.items.1.id") == 8
    assert get_path(doc, "data.items.-1.id") == 8
    assert get_path(doc, "data.items.5.id", "none") == "none"
    assert get_path(doc, "data.missing") is None
    assert get_path(doc, "") is doc


def test_value_specs_source_const_template_and_types() -> None:
    ctx = post_context(
        {"description": "Deep hole", "lat": "51.5", "long": "-0.1", "first_name": "Ann"},
        {"size": ["large"], "hazard": ["traffic", "cyclists"]},
        ["http://x/1.jpg"],
        {"service_name": "Pothole", "backend": {"category": "RD-POT"}},
    )
    assert resolve_value("attribute.size", ctx) == "large"
    assert resolve_value("attribute.hazard", ctx) == ["traffic", "cyclists"]
    assert resolve_value("service.backend.category", ctx) == "RD-POT"
    assert resolve_value({"const": 3}, ctx) == 3
    assert resolve_value({"template": "{first_name} {last_name}"}, ctx) == "Ann"
    assert (
        resolve_value({"template": "{service[service_name]}: {description} [{attribute[hazard]}]"}, ctx)
        == "Pothole: Deep hole [traffic, cyclists]"
    )
    assert resolve_value({"from": "lat", "type": "str"}, ctx) == "51.5"
    assert resolve_value({"from": "attribute.size", "type": "list"}, ctx) == ["large"]
    assert resolve_value({"from": "email", "default": "noreply@example.org"}, ctx) == "noreply@example.org"
    with pytest.raises(MappingError):
        resolve_value({"from": "description", "type": "int"}, ctx)
    with pytest.raises(MappingError):
        resolve_value(42, ctx)


def test_build_document_nests_dotted_targets_and_drops_absent_values() -> None:
    body = build_document({"a.b": {"const": 1}, "a.c": "description", "d": "missing"}, {"description": "x"})
    assert body == {"a": {"b": 1, "c": "x"}}


def test_status_map_exact_then_case_insensitive_then_default() -> None:
    smap = {"DONE": "closed", "Rejected": {"status": "closed", "external_status_code": "not_ours"}}
    assert map_status("DONE", smap, None) == ("closed", "DONE")
    assert map_status("rejected", smap, None) == ("closed", "not_ours")
    assert map_status("WAITING", smap, "open") == ("open", "WAITING")
    assert map_status("WAITING", smap, None) is None


def test_timestamps_read_in_the_configured_zone() -> None:
    summer = parse_timestamp("01/07/2024 09:30", fmt="%d/%m/%Y %H:%M", timezone="Europe/London")
    assert summer == datetime(2024, 7, 1, 8, 30, tzinfo=UTC)
    assert parse_timestamp("2024-07-01T09:30:00+02:00") == datetime(2024, 7, 1, 7, 30, tzinfo=UTC)
    assert parse_timestamp("2024-07-01 09:30") == datetime(2024, 7, 1, 9, 30, tzinfo=UTC)
    assert parse_timestamp("1719826200", fmt="epoch") == datetime(2024, 7, 1, 9, 30, tzinfo=UTC)
    for bad in ("", None, "yesterday"):
        with pytest.raises(MappingError):
            parse_timestamp(bad)


def test_update_hash_is_stable_and_ignores_whitespace_but_not_content() -> None:
    when = datetime(2024, 7, 1, 8, 30, tzinfo=UTC)
    a = update_hash("J1", "Completed", when, "Cleaned  off")
    assert a == update_hash("J1", "Completed", when.astimezone(), " Cleaned off ")
    assert a != update_hash("J1", "Completed", when, "Cleaned off again")
    assert len(a) == 24


CSV_SETTINGS_MODEL = CsvFeedSettings.model_validate({**CSV_SETTINGS, "directory": "/nowhere"})

EXPORT_A = (
    "Job Ref,Status,Changed At,Notes\n"
    "J-1,Open,01/07/2024 09:30,Logged\n"
    "J-1,Completed,02/07/2024 14:00,Cleaned off\n"
    "J-2,In Hand,02/07/2024 10:00,\n"
)
# The same changes, columns and rows reordered, a blank-padded comment, and one new row.
EXPORT_B = (
    "Notes,Changed At,Job Ref,Status\n"
    "  Cleaned   off ,02/07/2024 14:00,J-1,Completed\n"
    ",02/07/2024 10:00,J-2,In Hand\n"
    "Done,03/07/2024 08:00,J-2,Completed\n"
)


def test_csv_rows_hash_to_the_same_update_across_exports() -> None:
    a, skipped_a = parse_export(EXPORT_A, "a.csv", CSV_SETTINGS_MODEL)
    b, skipped_b = parse_export(EXPORT_B, "b.csv", CSV_SETTINGS_MODEL)
    assert skipped_a == [] and skipped_b == []
    merged = merge(a + b)
    assert len(merged) == 4
    assert {u.update_id for u in a} & {u.update_id for u in b} == {a[1].update_id, a[2].update_id}
    in_hand = next(u for u in merged if u.service_request_id == "J-2" and u.status == "open")
    assert in_hand.external_status_code == "in_hand"
    assert in_hand.updated_datetime == datetime(2024, 7, 2, 9, 0, tzinfo=UTC)


def test_malformed_csv_rows_are_skipped_with_reasons() -> None:
    text = (
        "Job Ref,Status,Changed At,Notes\n"
        ",Open,01/07/2024 09:30,no id\n"
        "J-3,Open,31/02/2024 09:30,impossible date\n"
        "J-4,Lost,01/07/2024 09:30,unknown status\n"
        "J-5,Open,01/07/2024 09:30,too,many,cells\n"
        "J-6,Open,01/07/2024 09:30,fine\n"
    )
    updates, skipped = parse_export(text, "bad.csv", CSV_SETTINGS_MODEL)
    assert [u.service_request_id for u in updates] == ["J-6"]
    assert [s.line for s in skipped] == [2, 3, 4, 5]
    assert "unmapped status 'Lost'" in skipped[2].reason


def test_csv_without_a_needed_column_is_skipped_whole() -> None:
    updates, skipped = parse_export("Ref,Status\nJ-1,Open\n", "x.csv", CSV_SETTINGS_MODEL)
    assert updates == [] and "Job Ref" in skipped[0].reason and "Changed At" in skipped[0].reason


def test_work_order_item_maps_to_update() -> None:
    spec = ListCall(
        path="/o", id="wo.id", status="state", updated="modified", comment="remarks", service_code="category"
    )
    item = {
        "wo": {"id": 55},
        "state": "REJECTED",
        "modified": "2024-07-01T10:00:00Z",
        "remarks": "Private land",
        "category": "RD-POT",
    }
    smap = {"REJECTED": {"status": "closed", "external_status_code": "not_responsible"}}
    u = item_to_update(item, spec, smap, "open", {"RD-POT": "POT"})
    assert u is not None
    assert (u.service_request_id, u.status, u.external_status_code, u.description) == (
        "55",
        "closed",
        "not_responsible",
        "Private land",
    )
    assert u.extra["service_code"] == "POT"
    assert u.update_id == item_to_update(dict(item), spec, smap, "open", {}).update_id  # type: ignore[union-attr]
    assert item_to_update({**item, "modified": "soon"}, spec, smap, "open", {}) is None
    assert item_to_update({**item, "state": "X"}, spec, smap, None, {}) is None


def test_request_rows_keep_the_latest_update_per_request() -> None:
    t1, t2 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    rows = request_rows(
        [
            Update("b", "R1", "closed", t2, "done"),
            Update("a", "R1", "open", t1, "new"),
            Update("c", "R2", "open", t1),
        ]
    )
    assert [(r["service_request_id"], r["status"], r["status_notes"]) for r in rows] == [
        ("R1", "closed", "done"),
        ("R2", "open", None),
    ]


def test_secrets_come_from_the_environment_by_ref() -> None:
    assert secret_env_name("workorders-token.v2") == "CIVICLOOP_SECRET_WORKORDERS_TOKEN_V2"
    assert resolve_secret("api key", {"CIVICLOOP_SECRET_API_KEY": "s3"}) == "s3"
    with pytest.raises(SecretNotFound, match="CIVICLOOP_SECRET_NOPE"):
        resolve_secret("nope", {})


def test_config_rejects_a_csv_feed_with_two_sources_and_unknown_types() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        CsvFeedSettings.model_validate({**CSV_SETTINGS, "directory": "/a", "url": "http://b"})
    with pytest.raises(ValidationError):
        AdapterAppConfig.model_validate({"jurisdictions": {"x": {"type": "soap"}}})
    with pytest.raises(ValidationError):
        AdapterAppConfig.model_validate({"jurisdictions": {}})


def test_parsing_an_export_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_export(EXPORT_A, "a.csv", CSV_SETTINGS_MODEL)
    assert caplog.records == []  # parsing is pure; the adapter logs skipped rows (tested over HTTP)


def test_a_missing_secret_stops_the_app_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend_adapter_configs import rest_settings
    from civicloop_backend_adapters.bootstrap import bootstrap
    from civicloop_backend_adapters.settings import BackendAdapterSettings

    monkeypatch.delenv("CIVICLOOP_SECRET_WORKORDERS_TOKEN", raising=False)
    config = AdapterAppConfig.model_validate({"jurisdictions": {"r": rest_settings("http://127.0.0.1:9")}})
    with pytest.raises(SecretNotFound, match="CIVICLOOP_SECRET_WORKORDERS_TOKEN"):
        asyncio.run(bootstrap(BackendAdapterSettings(), config=config))


def test_config_rejects_an_unknown_timezone() -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        CsvFeedSettings.model_validate({**CSV_SETTINGS, "directory": "/a", "timezone": "Mars/Olympus"})
