"""Reading back-ends without silent loss, over HTTP: work-order APIs that cap their answers (with and without
paging), changes that show up late in a search or in a CSV export, a dropped export still being written, and the
adapter's own Open311 lists paged. Built from real Los Angeles 311 requests (the shared sample)."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from backend_adapter_configs import CSV_SETTINGS, rest_settings
from backend_adapter_peers import serve_asgi
from capped_workorders import LA_FORMAT, LA_STATUS_MAP, CappedWorkOrders, la_csv, la_rows, la_work_order

if la_csv() is None:
    pytest.skip(
        "../shared/data/requests/la-311-2017-sample.csv is not beside this checkout (a user's clone)",
        allow_module_level=True,
    )

HISTORY = {"start_date": "2017-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}
LA_CSV_SETTINGS: dict[str, Any] = {
    "type": "csv_feed",
    "columns": {
        "external_id": "SRNumber",
        "status": "Status",
        "timestamp": "UpdatedDate",
        "comment": "ActionTaken",
    },
    "status_map": LA_STATUS_MAP,
    "timestamp_format": LA_FORMAT,
    "timezone": "America/Los_Angeles",
    "services": [{"service_code": "BULKY", "service_name": "Bulky items"}],
}


def _w3c(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def read_all(client: Any, resource: str, params: dict[str, str], page_size: int) -> list[dict[str, Any]]:
    """Every row of a window, page after page, as a paging reader walks it (a short page is the last)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        r = client.get(f"/{resource}.json", params={**params, "page": str(page), "page_size": str(page_size)})
        assert r.status_code == 200, r.text
        rows += r.json()
        if len(r.json()) < page_size:
            return rows
        page += 1


def la_rest_settings(url: str, **updates: Any) -> dict[str, Any]:
    settings = rest_settings(url, auth={"kind": "none"}, status_map=LA_STATUS_MAP, service_code_map={})
    settings["updates"] = {**settings["updates"], **updates}
    return settings


@pytest.fixture(scope="module")
def la_orders() -> list[dict[str, Any]]:
    return [la_work_order(row) for row in la_rows()]  # every request of the sample: 9,999


def test_a_capped_search_that_ignores_pages_is_read_whole_in_halved_windows(
    la_orders: list[dict[str, Any]], adapter: Any
) -> None:
    backend = CappedWorkOrders(la_orders, cap=100, pages=False)
    with serve_asgi(backend.app) as url:
        client = adapter(
            {
                "la.example": la_rest_settings(
                    url, until_param="modified_until", answer_cap=100, min_window_s=1
                )
            }
        )
        updates = read_all(client, "servicerequestupdates", HISTORY, page_size=1000)
        one_read = len(backend.searches)
        requests = read_all(client, "requests", HISTORY, page_size=1000)
    assert len(backend.searches) == 2 * one_read  # page 2 of each list was cut from the read of its page 1
    source = sorted(o["wo_number"] for o in la_orders)
    assert sorted(u["service_request_id"] for u in updates) == source  # each once: none lost, none twice
    assert len({u["update_id"] for u in updates}) == len(la_orders)
    assert sorted(r["service_request_id"] for r in requests) == source
    halved = {s["modified_until"] for s in backend.searches} - {"2026-01-01T00:00:00Z"}
    assert (
        len(halved) > len(la_orders) // 100
    )  # the capped window was read in halves, down to answers under 100


def test_a_cut_answer_that_cannot_be_split_fails_instead_of_answering_part(
    la_orders: list[dict[str, Any]], adapter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = CappedWorkOrders(la_orders, cap=100, pages=False)
    with serve_asgi(backend.app) as url:
        client = adapter({"la.example": la_rest_settings(url, answer_cap=100)})  # no upper bound to split by
        with caplog.at_level(logging.ERROR, logger="civicloop.backend_adapters.rest"):
            r = client.get("/servicerequestupdates.json", params=HISTORY)
    assert r.status_code == 503
    assert "was cut" in r.json()[0]["description"] and "100 items" in r.json()[0]["description"]
    assert any("cannot be split" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize(
    "walk",
    [
        {"answer_cap": 50, "max_pages": 250},
        {"answer_cap": 50, "max_pages": 10, "until_param": "modified_until", "min_window_s": 1},
    ],
    ids=["pages-to-the-end", "too-many-pages-split"],
)
def test_a_search_that_pages_below_our_page_size_is_followed_to_the_end(
    la_orders: list[dict[str, Any]], adapter: Any, walk: dict[str, Any]
) -> None:
    backend = CappedWorkOrders(la_orders, cap=50, pages=True)  # honours page, serves per_page=100 as 50
    with serve_asgi(backend.app) as url:
        settings = la_rest_settings(url, page_param="page", page_size_param="per_page", page_size=100, **walk)
        client = adapter({"la.example": settings})
        updates = read_all(client, "servicerequestupdates", HISTORY, page_size=1000)
    assert sorted(u["service_request_id"] for u in updates) == sorted(o["wo_number"] for o in la_orders)
    assert len({u["update_id"] for u in updates}) == len(la_orders)


def test_a_change_that_shows_up_late_in_the_search_is_still_answered(adapter: Any) -> None:
    now = datetime.now(UTC)
    on_time = {"wo_number": "WO-1", "state": "Open", "modified": (now - timedelta(minutes=1)).isoformat()}
    backend = CappedWorkOrders([on_time], cap=100, pages=False)
    with serve_asgi(backend.app) as url:
        looking_back = adapter({"la.example": la_rest_settings(url, late_s=3 * 86_400)})
        not_looking_back = adapter({"la.example": la_rest_settings(url)})
        first = looking_back.get(
            "/servicerequestupdates.json", params={"start_date": _w3c(now - timedelta(minutes=10))}
        ).json()
        assert [u["service_request_id"] for u in first] == ["WO-1"]
        # Closed by a crew two days ago, synced only now: its change time is long before the next poll's window.
        backend.add(
            {"wo_number": "WO-2", "state": "Closed", "modified": (now - timedelta(days=2)).isoformat()}
        )
        window = {"start_date": _w3c(now - timedelta(minutes=5))}
        second = looking_back.get("/servicerequestupdates.json", params=window).json()
        blind = not_looking_back.get("/servicerequestupdates.json", params=window).json()
    assert sorted(u["service_request_id"] for u in second) == ["WO-1", "WO-2"]
    assert next(u for u in second if u["service_request_id"] == "WO-1")["update_id"] == first[0]["update_id"]
    assert [u["service_request_id"] for u in blind] == ["WO-1"]


def _la_export(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["SRNumber", "Status", "UpdatedDate", "ActionTaken"], lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row[k] for k in ("SRNumber", "Status", "UpdatedDate", "ActionTaken")})
    return out.getvalue()


def _published_at(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_csv_rows_exported_late_reach_the_poll_of_when_they_appeared(csv_drop: Path, adapter: Any) -> None:
    """A nightly export of changes made in 2018 (the LA rows' own times): each poll, over [last poll, now], gets
    the rows that appeared in it, once, whatever their change times; a re-export repeats nothing."""
    rows = la_rows(250)
    client = adapter({"la.example": {**LA_CSV_SETTINGS, "directory": str(csv_drop)}})
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    polls = [base - timedelta(hours=1), base + timedelta(minutes=1), base + timedelta(hours=1, minutes=1)]
    (csv_drop / "night-1.csv").write_text(_la_export(rows[:200]))
    _published_at(csv_drop / "night-1.csv", base)
    (csv_drop / "night-2.csv").write_text(_la_export(rows))  # the 200 again, and 50 more
    _published_at(csv_drop / "night-2.csv", base + timedelta(hours=1))
    got = []
    for start, end in itertools.pairwise(polls):
        params = {"start_date": _w3c(start), "end_date": _w3c(end)}
        got.append([u["service_request_id"] for u in read_all(client, "servicerequestupdates", params, 100)])
    assert sorted(got[0]) == sorted(r["SRNumber"] for r in rows[:200])
    assert sorted(got[1]) == sorted(r["SRNumber"] for r in rows[200:])
    by_change_time = read_all(client, "servicerequestupdates", HISTORY, 1000)
    assert len(by_change_time) == 250  # the history, by the rows' own times, has them all too


def test_a_dropped_export_still_being_written_waits_for_its_last_line(csv_drop: Path, adapter: Any) -> None:
    export = csv_drop / "live.csv"
    export.write_text(
        "Job Ref,Status,Changed At,Notes\nJ-1,Open,01/07/2024 09:30,Logged\nJ-2,In Hand,02/07/2024 10:00,Crew on the w"
    )
    client = adapter({"parks.example": {**CSV_SETTINGS, "directory": str(csv_drop)}})
    while_written = client.get("/servicerequestupdates.json").json()
    assert [u["service_request_id"] for u in while_written] == ["J-1"]
    with export.open("a") as f:
        f.write("ay\n")
    whole = client.get("/servicerequestupdates.json").json()
    assert [(u["service_request_id"], u["description"]) for u in whole] == [
        ("J-1", "Logged"),
        ("J-2", "Crew on the way"),
    ]
    settled = adapter({"parks.example": {**CSV_SETTINGS, "directory": str(csv_drop), "settle_s": 0}})
    export.write_text("Job Ref,Status,Changed At,Notes\nJ-3,Open,03/07/2024 09:30,No line end")
    assert [u["description"] for u in settled.get("/servicerequestupdates.json").json()] == ["No line end"]


def test_the_open311_lists_page_over_every_la_row(
    csv_drop: Path, adapter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    rows = la_rows()
    (csv_drop / "all.csv").write_text(_la_export(rows))  # published now, after every window asked here
    client = adapter(
        {"la.example": {**LA_CSV_SETTINGS, "directory": str(csv_drop), "default_window_days": 3650}}
    )
    window = {"start_date": "2017-01-01T00:00:00Z", "end_date": "2019-01-01T00:00:00Z"}
    updates = read_all(client, "servicerequestupdates", window, 1000)
    in_window = [r for r in rows if datetime.strptime(r["UpdatedDate"], LA_FORMAT).year < 2019]
    assert len(updates) == len({u["update_id"] for u in updates}) == len(in_window) > 9_000
    assert sorted(u["service_request_id"] for u in updates) == sorted(r["SRNumber"] for r in in_window)
    times = [u["updated_datetime"] for u in updates]
    assert times == sorted(times)  # oldest first, so the pages are a stable walk
    requests = read_all(client, "requests", window, 1000)
    assert sorted(r["service_request_id"] for r in requests) == sorted(r["SRNumber"] for r in in_window)
    with caplog.at_level(logging.WARNING, logger="civicloop.backend_adapters"):
        unpaged = client.get("/servicerequestupdates.json", params=window).json()
    assert unpaged == updates[:1000]
    assert any("answer cut at 1000" in rec.getMessage() for rec in caplog.records)
    past_the_end = client.get("/requests.json", params={**window, "page": "99", "page_size": "1000"})
    assert past_the_end.json() == []
    for bad in ({"page": "0"}, {"page_size": "ten"}):
        r = client.get("/servicerequestupdates.json", params={**window, **bad})
        assert r.status_code == 400 and r.json()[0]["code"] == 400


def test_an_export_by_url_is_published_at_its_last_modified(csv_http: tuple[Path, str], adapter: Any) -> None:
    served, url = csv_http
    rows = la_rows(30)
    (served / "updates.csv").write_text(_la_export(rows))
    published = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    _published_at(served / "updates.csv", published)  # the file server's Last-Modified
    client = adapter({"la.example": {**LA_CSV_SETTINGS, "url": f"{url}/updates.csv"}})
    around = {"start_date": _w3c(published - timedelta(minutes=1)), "end_date": _w3c(published)}
    after = {"start_date": _w3c(published + timedelta(seconds=1))}
    assert sorted(
        u["service_request_id"] for u in read_all(client, "servicerequestupdates", around, 100)
    ) == sorted(r["SRNumber"] for r in rows)
    assert client.get("/servicerequestupdates.json", params=after).json() == []
