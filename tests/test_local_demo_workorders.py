"""The demo work-order system and job system (`civicloop_testing.demo_workorders`): what they show over time, their
Open311 answers as CivicLoop's own reader reads them, and a restart keeping what they received."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from civicloop_open311.wire import remote_requests, remote_updates
from civicloop_outbound.adapters.webhook_sender import SIGNATURE_HEADER, sign
from civicloop_testing.demo_workorders import (
    Pace,
    Systems,
    WorkOrder,
    job_status,
    own_problems,
    parks_export,
    timeline,
    web_app,
    write_export,
)

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
PACE = Pace(step_s=60, own_every_s=600)


def _order(**overrides: object) -> WorkOrder:
    values: dict[str, object] = {
        "id": "WO-1001",
        "service_code": "RD-POT",
        "description": "Deep pothole",
        "lat": 34.05,
        "long": -118.25,
        "address": None,
        "received_at": T0,
        "civicloop_number": "7KQ4-MZT2",
    }
    return WorkOrder(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_work_order_is_assigned_then_fixed_as_time_passes() -> None:
    order = _order()

    assert timeline(order, PACE, T0 + timedelta(seconds=59)) == []
    assigned = timeline(order, PACE, T0 + timedelta(seconds=60))
    assert [(s.status, s.external_status_code) for s in assigned] == [("open", "assigned")]
    fixed = timeline(order, PACE, T0 + timedelta(hours=1))
    assert [(s.update_id, s.status) for s in fixed] == [("WO-1001-1", "open"), ("WO-1001-2", "closed")]


def test_the_crews_find_a_problem_every_interval_with_stable_ids() -> None:
    assert own_problems(T0, PACE, T0 + timedelta(seconds=599)) == []
    found = own_problems(T0, PACE, T0 + timedelta(seconds=1800))

    assert [p.id for p in found] == ["CREW-1", "CREW-2", "CREW-3"]
    assert found[1].received_at == T0 + timedelta(seconds=1200)
    assert all(p.civicloop_number is None and p.lat is not None for p in found)
    assert own_problems(T0, Pace(60, 0), T0 + timedelta(days=1)) == []


def test_the_parks_export_lists_each_change_so_far_oldest_first(tmp_path: Path) -> None:
    systems = Systems.load(tmp_path / "state.json", PACE, T0)
    systems.receive_job("7KQ4-MZT2", "Report Water Waste", T0)
    text = parks_export(systems.jobs, PACE, T0 + timedelta(seconds=61))

    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["Job Ref"], r["Status"], r["Changed At"]) for r in rows] == [
        ("PK-101", "Logged", "2026-12-05T09:00:00Z"),
        ("PK-101", "In Hand", "2026-12-05T09:01:00Z"),
    ]
    assert [job_status(systems.jobs[0], PACE, T0 + timedelta(seconds=s)) for s in (0, 60, 120, 999)] == [
        "Logged",
        "In Hand",
        "Completed",
        "Completed",
    ]
    assert write_export(systems, tmp_path / "drop", T0) is True
    assert write_export(systems, tmp_path / "drop", T0) is False  # unchanged: left as it is
    assert not list((tmp_path / "drop").glob("*.partial"))


@pytest.fixture
def clock() -> list[datetime]:
    return [T0]


def client_of(systems: Systems, clock: list[datetime] | None = None) -> httpx.AsyncClient:
    app = web_app(systems, clock=(lambda: clock[0]) if clock else (lambda: datetime.now(UTC)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo")


async def test_open311_answers_read_by_civicloop_s_reader_and_a_restart_keeps_them(
    tmp_path: Path, clock: list[datetime]
) -> None:
    state = tmp_path / "state.json"
    client = client_of(Systems.load(state, PACE, T0), clock)
    form = {
        "service_code": "RD-POT",
        "lat": "34.052200",
        "long": "-118.243700",
        "description": "Deep pothole [CivicLoop 7KQ4-MZT2]",
        "attribute[civicloop_number]": "7KQ4-MZT2",
    }
    created = await client.post("/open311/v2/requests.json", data=form)
    again = await client.post("/open311/v2/requests.json", data=form)  # a retried send: the same work order

    assert created.json()[0]["service_request_id"] == again.json()[0]["service_request_id"] == "WO-1001"
    assert (
        await client.post("/open311/v2/requests.json", data={**form, "service_code": "NOPE"})
    ).status_code == 404
    clock[0] = T0 + timedelta(seconds=700)
    updates = remote_updates((await client.get("/open311/v2/servicerequestupdates.json")).content)
    assert [(u.service_request_id, u.status) for u in updates] == [
        ("WO-1001", "open"),
        ("WO-1001", "closed"),
        ("CREW-1", "open"),  # found at 600 s, assigned at 660 s
    ]
    window = {"start_date": "2026-12-05T09:05:00Z", "end_date": "2026-12-05T09:20:00Z"}
    created_in_window = remote_requests(
        (await client.get("/open311/v2/requests.json", params=window)).content
    )
    assert [r.service_request_id for r in created_in_window] == ["CREW-1"]

    restarted = client_of(Systems.load(state, PACE, T0 + timedelta(days=1)), clock)
    one = remote_requests((await restarted.get("/open311/v2/requests/WO-1001.json")).content)
    assert [(r.status, r.external_status_code) for r in one] == [("closed", "fixed")]
    assert (await restarted.get("/open311/v2/requests/CREW-1.json")).status_code == 200
    assert (await restarted.get("/open311/v2/requests/WO-9999.json")).status_code == 404


async def test_the_job_system_answers_its_job_reference_once_per_request(tmp_path: Path) -> None:
    client = client_of(Systems.load(tmp_path / "state.json", PACE, T0))
    delivery = {"event": "request.submitted", "request": {"request_id": "7KQ4-MZT2", "service_name": "Water"}}

    first = await client.post("/parks/jobs", json=delivery)
    second = await client.post("/parks/jobs", json=delivery)

    assert first.json() == second.json() == {"external_id": "PK-101"}
    assert (await client.post("/parks/jobs", json={"nothing": 1})).status_code == 400
    listing = (await client.get("/orders.json")).json()
    assert [j["ref"] for j in listing["parks_jobs"]] == ["PK-101"]
    page = (await client.get("/")).text
    assert "PK-101" in page and "7KQ4-MZT2" in page and "Logged" in page


async def test_with_a_secret_the_job_system_takes_only_deliveries_outbound_signed(tmp_path: Path) -> None:
    secret = "parks-webhook-secret"
    app = web_app(Systems.load(tmp_path / "state.json", PACE, T0), clock=lambda: T0, parks_secret=secret)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://workorders")
    raw = json.dumps({"event": "request.submitted", "request": {"request_id": "7KQ4-MZT2"}}).encode()
    json_type = {"Content-Type": "application/json"}

    unsigned = await client.post("/parks/jobs", content=raw, headers=json_type)
    forged = await client.post(
        "/parks/jobs", content=raw, headers={**json_type, SIGNATURE_HEADER: sign("a guess", raw)}
    )
    signed = await client.post(
        "/parks/jobs", content=raw, headers={**json_type, SIGNATURE_HEADER: sign(secret, raw)}
    )

    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert signed.status_code == 200 and signed.json() == {"external_id": "PK-101"}
