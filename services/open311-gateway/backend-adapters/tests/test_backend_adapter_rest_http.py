"""The REST work-order adapter over HTTP: the adapter app and a real work-order API, both under uvicorn."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from backend_adapter_configs import CSV_SETTINGS, rest_settings
from civicloop_testing.processes import free_port
from lxml import etree

POST_BODY = {
    "service_code": "POT",
    "lat": "51.5014",
    "long": "-0.1419",
    "address_string": "1 Mall Road",
    "description": "Deep hole by the kerb",
    "email": "ann@example.org",
    "first_name": "Ann",
    "last_name": "Lee",
    "attribute[size]": "large",
    "attribute[hazard][]": ["traffic", "cyclists"],
    "attribute[civicloop_id]": "CL-42",
    "media_url": ["http://img.example/1.jpg", "http://img.example/2.jpg"],
}


def _xml(content: bytes) -> Any:
    return etree.fromstring(content)


def _errors_json(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert isinstance(body, list) and body and {"code", "description"} <= set(body[0])
    return body


@pytest.fixture
def rest(work_orders: Any, adapter: Any) -> tuple[Any, Any]:
    backend, url = work_orders
    return backend, adapter({"roads.example": rest_settings(url)})


def test_post_json_creates_a_work_order_with_the_mapped_fields(rest: tuple[Any, Any]) -> None:
    backend, client = rest
    r = client.post("/requests.json", data={**POST_BODY, "jurisdiction_id": "roads.example"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == [{"service_request_id": "WO-1001"}]
    sent = backend.received[-1]
    assert sent == {
        "summary": "Pothole: Deep hole by the kerb",
        "classification": {"code": "RD-POT"},
        "location": {"lat": 51.5014, "lon": -0.1419, "address": "1 Mall Road"},
        "reporter": {"email": "ann@example.org", "name": "Ann Lee"},
        "details": {"size": "large", "hazards": ["traffic", "cyclists"]},
        "photos": ["http://img.example/1.jpg", "http://img.example/2.jpg"],
        "external_ref": "CL-42",
        "source": "civicloop",
    }
    assert "WO-1001" in backend.orders


def test_post_xml_answers_the_open311_wrapper(rest: tuple[Any, Any]) -> None:
    backend, client = rest
    r = client.post(
        "/requests.xml", data={"service_code": "LIT", "address_string": "Lamp 7", "description": "Dark"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    doc = _xml(r.content)
    assert doc.tag == "service_requests"
    assert doc.findtext("request/service_request_id") == "WO-1001"
    assert backend.received[-1]["classification"] == {"code": "LT-OUT"}
    assert "location" in backend.received[-1] and "lat" not in backend.received[-1]["location"]


def test_services_list_is_the_configured_categories(rest: tuple[Any, Any]) -> None:
    _, client = rest
    services = client.get("/services.json").json()
    assert [s["service_code"] for s in services] == ["POT", "LIT"]
    assert services[0] == {
        "service_code": "POT",
        "service_name": "Pothole",
        "description": None,
        "metadata": False,
        "type": "realtime",
        "keywords": None,
        "group": "Roads",
    }
    doc = _xml(client.get("/services.xml").content)
    assert [e.text for e in doc.findall("service/service_code")] == ["POT", "LIT"]


def _seed(backend: Any) -> None:
    backend.add(
        wo_number="WO-1",
        state="IN_PROGRESS",
        modified="2024-07-01T10:00:00+00:00",
        remarks="Crew assigned",
        category="RD-POT",
    )
    backend.add(
        wo_number="WO-2",
        state="REJECTED",
        modified="2024-07-02T12:00:00+00:00",
        remarks="Private land",
        category="LT-OUT",
    )
    backend.add(
        wo_number="WO-3", state="DONE", modified="2024-08-15T09:00:00+00:00", remarks="", category="RD-POT"
    )


def test_updates_come_back_mapped_within_the_window(rest: tuple[Any, Any]) -> None:
    backend, client = rest
    _seed(backend)
    params = {"start_date": "2024-07-01T00:00:00Z", "end_date": "2024-07-31T23:59:59Z"}
    first = client.get("/servicerequestupdates.json", params=params)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [
        (u["service_request_id"], u["status"], u["external_status_code"], u["description"]) for u in body
    ] == [
        ("WO-1", "open", "in_progress", "Crew assigned"),
        ("WO-2", "closed", "not_responsible", "Private land"),
    ]
    assert body[0]["updated_datetime"] == "2024-07-01T10:00:00Z"
    assert backend.searches[-1]["modified_since"] == "2024-07-01T00:00:00Z"
    again = client.get("/servicerequestupdates.json", params=params).json()
    assert [u["update_id"] for u in again] == [u["update_id"] for u in body]
    assert len({u["update_id"] for u in body}) == 2
    doc = _xml(client.get("/servicerequestupdates.xml", params=params).content)
    assert doc.tag == "service_request_updates"
    assert [e.findtext("update_id") for e in doc.findall("request_update")] == [u["update_id"] for u in body]


def test_a_status_change_is_a_new_update(rest: tuple[Any, Any]) -> None:
    backend, client = rest
    _seed(backend)
    params = {"start_date": "2024-07-01T00:00:00Z"}
    before = {u["update_id"] for u in client.get("/servicerequestupdates.json", params=params).json()}
    backend.orders["WO-1"].update(state="DONE", modified="2024-09-01T08:00:00+00:00", remarks="Filled")
    after = client.get("/servicerequestupdates.json", params=params).json()
    changed = next(u for u in after if u["service_request_id"] == "WO-1")
    assert changed["status"] == "closed" and changed["update_id"] not in before


def test_get_requests_filters_and_single_request(rest: tuple[Any, Any]) -> None:
    backend, client = rest
    _seed(backend)
    window = {"start_date": "2024-06-01T00:00:00Z", "end_date": "2024-08-31T00:00:00Z"}
    closed = client.get("/requests.json", params={**window, "status": "closed"}).json()
    assert [(r["service_request_id"], r["service_code"]) for r in closed] == [
        ("WO-3", "POT"),
        ("WO-2", "LIT"),
    ]
    assert set(closed[0]) >= {
        "service_request_id",
        "status",
        "status_notes",
        "requested_datetime",
        "lat",
        "long",
    }
    by_code = client.get("/requests.json", params={**window, "service_code": "LIT"}).json()
    assert [r["service_request_id"] for r in by_code] == ["WO-2"]
    updated_after = client.get("/requests.json", params={"updated_after": "2024-08-01T00:00:00Z"}).json()
    assert [r["service_request_id"] for r in updated_after] == ["WO-3"]
    by_id = client.get(
        "/requests.json", params={"service_request_id": "WO-1,nope", "status": "closed"}
    ).json()
    assert [(r["service_request_id"], r["status"]) for r in by_id] == [("WO-1", "open")]
    one = _xml(client.get("/requests/WO-2.xml").content)
    assert [e.findtext("status") for e in one.findall("request")] == ["closed"]
    assert one.findtext("request/status_notes") == "Private land"
    missing = client.get("/requests/WO-999.json")
    assert missing.status_code == 404
    assert "WO-999" in _errors_json(missing)[0]["description"]
    bad_status = client.get("/requests.json", params={"status": "pending"})
    assert bad_status.status_code == 400 and _errors_json(bad_status)[0]["code"] == 400
    bad_date = client.get("/servicerequestupdates.json", params={"start_date": "last week"})
    assert bad_date.status_code == 400


def test_their_4xx_is_an_open311_400_with_their_message(work_orders: Any, adapter: Any) -> None:
    backend, url = work_orders
    settings = rest_settings(url)
    settings["create"] = {
        **settings["create"],
        "fields": {"summary": "description", "source": {"const": "cl"}},
    }
    client = adapter({"roads.example": settings})
    r = client.post("/requests.json", data={"service_code": "POT", "address_string": "1 Mall Road"})
    assert r.status_code == 400
    assert "summary is mandatory" in _errors_json(r)[0]["description"]
    r = client.post("/requests.xml", data={"service_code": "POT", "address_string": "1 Mall Road"})
    assert r.status_code == 400 and _xml(r.content).findtext("error/code") == "400"
    assert backend.received[-1] == {"source": "cl"} and backend.orders == {}


def test_the_back_end_checks_the_configured_auth(
    work_orders: Any, adapter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, url = work_orders
    monkeypatch.setenv("CIVICLOOP_SECRET_WRONG_TOKEN", "not-the-token")
    client = adapter(
        {"roads.example": rest_settings(url, auth={"kind": "bearer", "token_ref": "wrong-token"})}
    )
    r = client.post("/requests.json", data={"service_code": "POT", "address_string": "x", "description": "d"})
    assert r.status_code == 400 and "bad token" in _errors_json(r)[0]["description"]
    assert backend.orders == {}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_back_end_5xx_is_an_open311_503(rest: tuple[Any, Any], fmt: str) -> None:
    backend, client = rest
    backend.fail_with = 502
    r = client.post(
        f"/requests.{fmt}", data={"service_code": "POT", "address_string": "x", "description": "d"}
    )
    assert r.status_code == 503 and r.headers["retry-after"] == "30"
    if fmt == "json":
        assert _errors_json(r)[0]["code"] == 503
    else:
        assert _xml(r.content).findtext("error/code") == "503"
    assert client.get(f"/servicerequestupdates.{fmt}").status_code == 503


def test_back_end_timeout_is_an_open311_503(work_orders: Any, adapter: Any) -> None:
    backend, url = work_orders
    client = adapter({"roads.example": rest_settings(url, timeout_s=0.3)})
    backend.delay_s = 1.5
    r = client.get("/servicerequestupdates.json")
    assert r.status_code == 503 and "in time" in _errors_json(r)[0]["description"]


def test_back_end_down_is_an_open311_503(adapter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICLOOP_SECRET_WORKORDERS_TOKEN", "t")
    client = adapter({"roads.example": rest_settings(f"http://127.0.0.1:{free_port()}")})
    r = client.post("/requests.xml", data={"service_code": "POT", "lat": "51.5", "long": "-0.1"})
    assert r.status_code == 503
    assert "unreachable" in _xml(r.content).findtext("error/description")


def test_jurisdictions_select_the_adapter(work_orders: Any, adapter: Any, tmp_path: Any) -> None:
    backend, url = work_orders
    client = adapter(
        {"roads.example": rest_settings(url), "parks.example": {**CSV_SETTINGS, "directory": str(tmp_path)}}
    )
    unknown = client.get("/services.json", params={"jurisdiction_id": "nowhere.example"})
    assert unknown.status_code == 404 and "nowhere.example" in _errors_json(unknown)[0]["description"]
    unknown_xml = client.post(
        "/requests.xml",
        data={"jurisdiction_id": "nowhere.example", "service_code": "POT", "address_string": "x"},
    )
    assert unknown_xml.status_code == 404 and _xml(unknown_xml.content).findtext("error/code") == "404"
    assert client.get("/services.json").status_code == 400  # two jurisdictions: which one?
    parks = client.get("/services.json", params={"jurisdiction_id": "parks.example"}).json()
    assert [s["service_code"] for s in parks] == ["GRAF"]
    roads = client.get("/services.json", params={"jurisdiction_id": "roads.example"}).json()
    assert [s["service_code"] for s in roads] == ["POT", "LIT"]
    assert backend.received == []


def test_post_validation_before_the_back_end(
    work_orders: Any, adapter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, url = work_orders
    monkeypatch.setenv("CIVICLOOP_SECRET_PARTNER_KEY", "k-123")
    client = adapter({"roads.example": rest_settings(url, api_key_ref="partner-key")})
    ok = {"service_code": "POT", "address_string": "x", "description": "d", "api_key": "k-123"}
    cases = [
        ({**ok, "api_key": "wrong"}, 403),
        ({k: v for k, v in ok.items() if k != "service_code"}, 400),
        ({**ok, "service_code": "NOPE"}, 404),
        ({k: v for k, v in ok.items() if k != "address_string"}, 400),
        ({**ok, "lat": "51.5"}, 400),
        ({**ok, "lat": "95", "long": "0"}, 400),
    ]
    for body, status in cases:
        r = client.post("/requests.json", data=body)
        assert r.status_code == status, (body, r.text)
        assert _errors_json(r)[0]["code"] == status
    assert backend.received == []
    assert client.post("/requests.json", data=ok).json() == [{"service_request_id": "WO-1001"}]
    assert client.get("/requests.yaml").status_code == 404
    assert client.delete("/requests.json").status_code == 405


def test_an_unknown_update_window_default_reads_recent_changes(rest: tuple[Any, Any]) -> None:
    backend, client = rest
    now = datetime.now(UTC).replace(microsecond=0)
    backend.add(wo_number="WO-9", state="NEW", modified=now.isoformat(), remarks="", category="RD-POT")
    body = client.get("/servicerequestupdates.json").json()
    assert [u["service_request_id"] for u in body] == ["WO-9"]
    since = datetime.fromisoformat(backend.searches[-1]["modified_since"])
    assert 89 <= (now - since).days <= 90


@pytest.mark.parametrize(
    ("scheme", "auth"),
    [
        ("basic", {"kind": "basic", "username": "civicloop", "password_ref": "wo/password"}),
        ("api_key", {"kind": "api_key", "header": "X-WO-Key", "key_ref": "wo.key"}),
    ],
)
def test_basic_and_api_key_auth_reach_the_back_end(
    adapter: Any, monkeypatch: pytest.MonkeyPatch, scheme: str, auth: dict[str, Any]
) -> None:
    from backend_adapter_peers import TOKEN, WorkOrderBackend, serve_asgi

    monkeypatch.setenv("CIVICLOOP_SECRET_WO_PASSWORD", TOKEN)
    monkeypatch.setenv("CIVICLOOP_SECRET_WO_KEY", TOKEN)
    backend = WorkOrderBackend(auth=scheme)
    with serve_asgi(backend.app) as url:
        client = adapter({"roads.example": rest_settings(url, auth=auth)})
        r = client.post(
            "/requests.json", data={"service_code": "POT", "address_string": "x", "description": "d"}
        )
        assert r.json() == [{"service_request_id": "WO-1001"}]
        monkeypatch.setenv("CIVICLOOP_SECRET_WO_PASSWORD", "stale")
        monkeypatch.setenv("CIVICLOOP_SECRET_WO_KEY", "stale")
        wrong = adapter({"roads.example": rest_settings(url, auth=auth)})
        r = wrong.get("/servicerequestupdates.json")
        assert r.status_code == 400 and "bad token" in r.json()[0]["description"]


@pytest.mark.parametrize(
    "paging",
    [
        {"page_param": "page", "page_size_param": "per_page", "page_size": 2},
        {"cursor_path": "next", "cursor_param": "after", "params": {"limit": "2"}},
    ],
)
def test_updates_follow_their_paging(work_orders: Any, adapter: Any, paging: dict[str, Any]) -> None:
    backend, url = work_orders
    for n in range(1, 6):
        backend.add(
            wo_number=f"WO-{n}",
            state="NEW",
            modified=f"2024-07-0{n}T10:00:00+00:00",
            remarks="",
            category="RD-POT",
        )
    settings = rest_settings(url)
    settings["updates"] = {**settings["updates"], **paging}
    client = adapter({"roads.example": settings})
    body = client.get("/servicerequestupdates.json", params={"start_date": "2024-07-01"}).json()
    assert [u["service_request_id"] for u in body] == [f"WO-{n}" for n in range(1, 6)]
    assert len(backend.searches) == 3


def test_multipart_post_maps_the_text_fields_and_refuses_files(rest: tuple[Any, Any]) -> None:
    """A file part would be lost (photos travel as media_url): refused with a 400, nothing sent to the back-end."""
    backend, client = rest
    fields = {
        "service_code": "POT",
        "address_string": "Mall Road",
        "description": "With a photo",
        "attribute[size]": "small",
    }
    before = len(backend.received)
    refused = client.post(
        "/requests.json", data=fields, files={"photo1": ("hole.jpg", b"\xff\xd8\xff", "image/jpeg")}
    )
    assert refused.status_code == 400 and "media_url" in refused.text
    assert len(backend.received) == before
    r = client.post("/requests.json", data=fields, files={"note": (None, b"a text part")})
    assert r.status_code == 200, r.text
    assert r.request.headers["content-type"].startswith("multipart/form-data")
    sent = backend.received[-1]
    assert sent["summary"] == "Pothole: With a photo" and sent["details"] == {"size": "small"}
    assert sent["photos"] == []
