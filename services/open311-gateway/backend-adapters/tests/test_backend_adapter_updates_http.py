"""`POST servicerequestupdates` (CHECKLIST FX-10) through the adapter app: recorded by a work-order API's comment
call, refused with 501 by a back-end that takes no updates (so the sender remembers it as such)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from backend_adapter_configs import CSV_SETTINGS, rest_settings
from lxml import etree

COMMENT_CALL = {
    "path": "/orders/{id}/comments",
    "fields": {
        "text": "description",
        "kind": {"template": "civicloop:{status}"},
        "at": "updated_datetime",
        "photos": "media_urls",
        "reference": "update_id",
    },
    "id_path": "data.comment.id",
}


def update(service_request_id: str, **more: Any) -> dict[str, Any]:
    return {
        "jurisdiction_id": "roads.example",
        "service_request_id": service_request_id,
        "update_id": "cl-7f3a",
        "status": "OPEN",
        "updated_datetime": "2026-12-05T09:30:00Z",
        "description": "Reopened: the hole is back",
        **more,
    }


@pytest.fixture
def commenting(work_orders: Any, adapter: Any) -> tuple[Any, Any]:
    backend, url = work_orders
    return backend, adapter({"roads.example": rest_settings(url, comment=COMMENT_CALL)})


def test_an_update_becomes_a_comment_on_the_work_order(commenting: tuple[Any, Any]) -> None:
    backend, client = commenting
    backend.add(wo_number="WO-7", state="DONE", modified="2026-12-01T10:00:00+00:00", remarks="")
    r = client.post(
        "/servicerequestupdates.xml", data=update("WO-7", media_url="http://img.example/after.jpg")
    )
    assert r.status_code == 200, r.text
    root = etree.fromstring(r.content)
    assert root.tag == "service_request_updates"
    assert root.findtext("request_update/update_id") == "C-1"  # their id of the comment
    assert backend.orders["WO-7"]["comments"] == [
        {
            "text": "Reopened: the hole is back",
            "kind": "civicloop:open",
            "at": "2026-12-05T09:30:00+00:00",
            "photos": ["http://img.example/after.jpg"],
            "reference": "cl-7f3a",
        }
    ]
    r = client.post("/servicerequestupdates.json", data=update("WO-7", description="Crew on Monday"))
    assert r.status_code == 200 and r.json() == [{"update_id": "C-2"}]


def test_an_update_the_back_end_cannot_place_or_that_lacks_a_field_is_a_400(
    commenting: tuple[Any, Any],
) -> None:
    backend, client = commenting
    r = client.post("/servicerequestupdates.json", data=update("WO-404"))
    assert r.status_code == 400 and "no such order" in r.text
    for missing in ("service_request_id", "update_id", "status", "updated_datetime"):
        body = update("WO-7")
        del body[missing]
        r = client.post("/servicerequestupdates.json", data=body)
        assert r.status_code == 400 and f"{missing} is required" in r.text
    r = client.post("/servicerequestupdates.json", data=update("WO-7", updated_datetime="yesterday"))
    assert r.status_code == 400
    assert backend.orders == {}


def test_a_back_end_without_a_comment_call_or_a_csv_feed_answers_501(
    work_orders: Any, adapter: Any, csv_drop: Path
) -> None:
    _, url = work_orders
    client = adapter(
        {
            "roads.example": rest_settings(url),
            "graffiti.example": {**CSV_SETTINGS, "directory": str(csv_drop)},
        }
    )
    r = client.post("/servicerequestupdates.xml", data=update("WO-7"))
    assert r.status_code == 501 and "takes no updates" in r.text
    r = client.post("/servicerequestupdates.json", data=update("G-1", jurisdiction_id="graffiti.example"))
    assert r.status_code == 501 and "takes no updates" in r.text
