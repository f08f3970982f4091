"""The CSV update feed adapter over HTTP: exports in a drop directory and behind a plain HTTP server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from backend_adapter_configs import CSV_SETTINGS
from lxml import etree

EXPORT_1 = (
    "Job Ref,Status,Changed At,Notes,Exported\n"
    "J-1,Open,01/07/2024 09:30,Logged,03/07/2024 00:00\n"
    "J-1,Completed,02/07/2024 14:00,Cleaned off,03/07/2024 00:00\n"
    "J-2,In Hand,02/07/2024 10:00,,03/07/2024 00:00\n"
)
# The next export repeats two changes (other column order, other row order, another export stamp) and adds one.
EXPORT_2 = (
    "Exported,Status,Job Ref,Changed At,Notes\n"
    "04/07/2024 00:00,Cancelled,J-2,03/07/2024 16:15,Duplicate of J-1\n"
    "04/07/2024 00:00,In Hand,J-2,02/07/2024 10:00,\n"
    "04/07/2024 00:00,Completed,J-1,02/07/2024 14:00,  Cleaned off\n"
)
BROKEN = (
    "Job Ref,Status,Changed At,Notes\n"
    "J-7,Open,not a date,x\n"
    ",Open,01/07/2024 09:30,no ref\n"
    "J-8,Vanished,01/07/2024 09:30,unknown status\n"
    "J-9,Open,05/07/2024 12:00,Logged\n"
)


def _updates(client: Any, **params: str) -> list[dict[str, Any]]:
    r = client.get("/servicerequestupdates.json", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_directory_drop_rows_dedupe_by_hash_across_exports_and_restarts(csv_drop: Path, adapter: Any) -> None:
    settings = {**CSV_SETTINGS, "directory": str(csv_drop)}
    client = adapter({"parks.example": settings})
    (csv_drop / "export-1.csv").write_text(EXPORT_1)
    first = _updates(client)
    assert [(u["service_request_id"], u["status"], u["external_status_code"]) for u in first] == [
        ("J-1", "open", "Open"),
        ("J-2", "open", "in_hand"),
        ("J-1", "closed", "Completed"),
    ]
    assert first[0]["updated_datetime"] == "2024-07-01T08:30:00Z"  # BST read as London time
    (csv_drop / "export-2.csv").write_text(EXPORT_2)
    (csv_drop / "notes.txt").write_text("not an export")
    second = _updates(client)
    assert len(second) == 4
    assert [u["update_id"] for u in second[:3]] == [u["update_id"] for u in first]
    assert second[3]["external_status_code"] == "cancelled" and second[3]["description"] == "Duplicate of J-1"
    restarted = adapter({"parks.example": settings})
    assert [u["update_id"] for u in _updates(restarted)] == [u["update_id"] for u in second]


def test_window_filters_on_the_row_timestamp(csv_drop: Path, adapter: Any) -> None:
    (csv_drop / "export-1.csv").write_text(EXPORT_1)
    client = adapter({"parks.example": {**CSV_SETTINGS, "directory": str(csv_drop)}})
    july_2nd = _updates(client, start_date="2024-07-02T00:00:00Z", end_date="2024-07-02")
    assert [u["service_request_id"] + "/" + u["status"] for u in july_2nd] == ["J-2/open", "J-1/closed"]
    before = _updates(client, start_date="2024-07-01T00:00:00Z", end_date="2024-07-01T08:30:00Z")
    assert [u["description"] for u in before] == ["Logged"]
    doc = etree.fromstring(
        client.get("/servicerequestupdates.xml", params={"end_date": "2024-06-30"}).content
    )
    assert doc.tag == "service_request_updates" and doc.findall("request_update") == []


def test_malformed_rows_are_skipped_and_logged(
    csv_drop: Path, adapter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    (csv_drop / "broken.csv").write_text(BROKEN)
    client = adapter({"parks.example": {**CSV_SETTINGS, "directory": str(csv_drop)}})
    with caplog.at_level(logging.WARNING, logger="civicloop.backend_adapters.csv"):
        body = _updates(client)
    assert [u["service_request_id"] for u in body] == ["J-9"]
    lines = [r.getMessage() for r in caplog.records if r.name == "civicloop.backend_adapters.csv"]
    assert len(lines) == 1
    assert "skipped 3 malformed row(s)" in lines[0]
    assert "broken.csv:2" in lines[0] and "broken.csv:4 unmapped status 'Vanished'" in lines[0]


def test_requests_fold_the_feed_to_the_latest_status(csv_drop: Path, adapter: Any) -> None:
    (csv_drop / "a.csv").write_text(EXPORT_1)
    (csv_drop / "b.csv").write_text(EXPORT_2)
    client = adapter({"parks.example": {**CSV_SETTINGS, "directory": str(csv_drop)}})
    rows = client.get("/requests.json").json()
    assert [(r["service_request_id"], r["status"], r["status_notes"]) for r in rows] == [
        ("J-2", "closed", "Duplicate of J-1"),
        ("J-1", "closed", "Cleaned off"),
    ]
    assert client.get("/requests.json", params={"status": "open"}).json() == []
    one = etree.fromstring(client.get("/requests/J-1.xml").content)
    assert one.findtext("request/service_request_id") == "J-1" and one.findtext("request/status") == "closed"
    assert one.findtext("request/updated_datetime") == "2024-07-02T13:00:00Z"
    assert client.get("/requests/J-404.json").status_code == 404


def test_the_feed_cannot_receive_requests(csv_drop: Path, adapter: Any) -> None:
    client = adapter({"parks.example": {**CSV_SETTINGS, "directory": str(csv_drop)}})
    r = client.post("/requests.json", data={"service_code": "GRAF", "address_string": "Park gate"})
    assert r.status_code == 400
    assert "cannot receive" in r.json()[0]["description"]
    assert list(csv_drop.iterdir()) == []


def test_a_missing_drop_directory_is_a_503(tmp_path: Path, adapter: Any) -> None:
    client = adapter({"parks.example": {**CSV_SETTINGS, "directory": str(tmp_path / "unmounted")}})
    r = client.get("/servicerequestupdates.xml")
    assert r.status_code == 503
    assert etree.fromstring(r.content).findtext("error/code") == "503"


def test_http_export_dedupes_across_re_exports(csv_http: tuple[Path, str], adapter: Any) -> None:
    served, url = csv_http
    (served / "updates.csv").write_text(EXPORT_1)
    client = adapter({"parks.example": {**CSV_SETTINGS, "url": f"{url}/updates.csv"}})
    first = etree.fromstring(client.get("/servicerequestupdates.xml").content)
    first_ids = [e.findtext("update_id") for e in first.findall("request_update")]
    assert len(first_ids) == 3 and all(first_ids)
    (served / "updates.csv").write_text(EXPORT_2)  # the next export replaces the file
    second = _updates(client)
    assert len(second) == 3
    assert {u["update_id"] for u in second} & set(first_ids) == {first_ids[1], first_ids[2]}


def test_http_export_missing_or_server_down_is_a_503(tmp_path: Path, adapter: Any) -> None:
    from backend_adapter_peers import serve_directory

    served = tmp_path / "served"
    served.mkdir()
    with serve_directory(served) as url:
        client = adapter({"parks.example": {**CSV_SETTINGS, "url": f"{url}/updates.csv"}})
        missing = client.get("/servicerequestupdates.json")
        assert missing.status_code == 503 and "HTTP 404" in missing.json()[0]["description"]
        (served / "updates.csv").write_text(EXPORT_1)
        assert len(_updates(client)) == 3
    down = client.get("/servicerequestupdates.json")
    assert down.status_code == 503 and down.headers["retry-after"] == "30"
    assert "unreachable" in down.json()[0]["description"]
