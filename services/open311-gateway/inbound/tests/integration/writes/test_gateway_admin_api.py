"""The admin catalogue API on the real broker and PostGIS: each change is a `ServiceDefined` on `jurisdiction.config`
and the Open311 view follows from the log (SD-04, SD-08, SD-10, SL-05)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from civicloop_events import decode_event
from civicloop_events.payloads import ServiceDefined
from civicloop_testing.open311_catalogue import streetlight_form
from civicloop_testing.staff_tokens import staff_headers
from write_harness import ADMIN_TOKEN, CITY, OTHER_CITY, WriteGateway, answers

pytestmark = pytest.mark.integration

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def services_path(jurisdiction: str = CITY) -> str:
    return f"admin/jurisdictions/{jurisdiction}/services"


def new_service(code: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "service_code": code,
        "service_name": "Blocked drain",
        "group": "water",
        "keywords": ["drain", "flood"],
        "type": "realtime",
        "attributes": [
            {
                "code": "DEPTH",
                "datatype": "singlevaluelist",
                "required": True,
                "order": 1,
                "description": "How deep is the water?",
                "values": [{"key": "ankle", "name": "Ankle deep"}, {"key": "knee", "name": "Knee deep"}],
            },
            {"code": "SINCE", "datatype": "datetime", "order": 2, "description": "Since when?"},
        ],
    }
    body.update(overrides)
    return body


async def config_definitions(gw: WriteGateway, code: str) -> list[ServiceDefined]:
    events = [decode_event(r.value) for r in await gw.config_records()]
    return [
        e.payload
        for e in events
        if isinstance(e.payload, ServiceDefined)
        and e.payload.service_code == code
        and e.jurisdiction_id == CITY
        and e.source == "admin"
    ]


async def test_admin_requires_an_admin_staff_token(write_gw: WriteGateway) -> None:
    """401 without credentials (with WWW-Authenticate) or with a token that is not valid; 403 for a valid token of
    another role or another jurisdiction; nothing is published. All in Open311's error format."""
    r = await write_gw.client.get(f"{services_path()}.json")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = await write_gw.client.post(
        f"{services_path()}.json", json=new_service("NOPE_DRAIN"), headers={"Authorization": "Bearer wrong"}
    )
    assert r.status_code == 401 and r.json()[0]["code"] == 401
    for headers in (
        staff_headers(None, "agent", "supervisor", "auditor", jurisdiction_id=CITY),
        staff_headers(None, "admin", jurisdiction_id=OTHER_CITY),
    ):
        r = await write_gw.client.post(
            f"{services_path()}.json", json=new_service("NOPE_DRAIN"), headers=headers
        )
        assert r.status_code == 403 and r.json()[0]["code"] == 403
    assert await config_definitions(write_gw, "NOPE_DRAIN") == []


async def test_admin_create_update_deactivate_publish_service_defined(write_gw: WriteGateway) -> None:
    """Create, update and withdraw a service: three `ServiceDefined` events on the config topic; the list shows
    each change, and partners can submit to the new service (its required question enforced, PR-05)."""
    code = f"DRAIN_{uuid.uuid4().hex[:6].upper()}"
    r = await write_gw.client.post(f"{services_path()}.json", json=new_service(code), headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["applied"] is True and r.json()["service"]["attributes"][0]["code"] == "DEPTH"

    listing = (await write_gw.client.get(f"{services_path()}.json", headers=AUTH)).json()["services"]
    assert [s["active"] for s in listing if s["service_code"] == code] == [True]

    missing = await write_gw.submit(
        "json", **streetlight_form(service_code=code, **{"attribute[LAMP_STATE]": None})
    )
    assert missing.status_code == 400 and "attribute[DEPTH] required" in missing.text
    ok = await write_gw.submit("json", **streetlight_form(service_code=code, **{"attribute[DEPTH]": "knee"}))
    assert answers(ok, "json")[0]["service_request_id"]

    changed = new_service(code, service_name="Blocked storm drain", type="batch")
    del changed["service_code"]
    r = await write_gw.client.put(f"{services_path()}/{code}.json", json=changed, headers=AUTH)
    assert r.status_code == 200, r.text
    r = await write_gw.client.delete(f"{services_path()}/{code}.json", headers=AUTH)
    assert r.status_code == 200 and r.json()["service"]["active"] is False

    definitions = await config_definitions(write_gw, code)
    assert [(d.service_name, d.type.value, d.active) for d in definitions] == [
        ("Blocked drain", "realtime", True),
        ("Blocked storm drain", "batch", True),
        ("Blocked storm drain", "batch", False),
    ]
    listing = (await write_gw.client.get(f"{services_path()}.json", headers=AUTH)).json()["services"]
    assert [s["active"] for s in listing if s["service_code"] == code] == [False]
    gone = await write_gw.submit(
        "json", **streetlight_form(service_code=code, **{"attribute[DEPTH]": "knee"})
    )
    assert gone.status_code == 404, "a withdrawn service takes no requests"


async def test_admin_refuses_invalid_definitions_naming_the_problem(write_gw: WriteGateway) -> None:
    """SD-08 unique positive order, SD-10 values for list datatypes, SD-04 unique codes: 400, nothing published."""
    code = f"BAD_{uuid.uuid4().hex[:6].upper()}"
    cases = [
        (
            [
                {"code": "A", "datatype": "string", "order": 1},
                {"code": "B", "datatype": "string", "order": 1},
            ],
            "orders must be unique",
        ),
        ([{"code": "A", "datatype": "multivaluelist", "order": 1}], "needs values"),
        (
            [{"code": "A", "datatype": "string", "order": 1}, {"code": "A", "datatype": "text", "order": 2}],
            "codes must be unique",
        ),
        ([{"code": "A", "datatype": "string", "order": 0}], "order"),
    ]
    for attributes, message in cases:
        r = await write_gw.client.post(
            f"{services_path()}.json", json=new_service(code, attributes=attributes), headers=AUTH
        )
        assert r.status_code == 400, r.text
        assert message in r.json()[0]["description"], r.text
    assert await config_definitions(write_gw, code) == []


async def test_admin_conflicts_and_unknown_services(write_gw: WriteGateway) -> None:
    """Creating an active code again is 409; updating or withdrawing an unknown one is 404."""
    code = f"DUP_{uuid.uuid4().hex[:6].upper()}"
    assert (
        await write_gw.client.post(f"{services_path()}.json", json=new_service(code), headers=AUTH)
    ).status_code == 201
    r = await write_gw.client.post(f"{services_path()}.json", json=new_service(code), headers=AUTH)
    assert r.status_code == 409
    r = await write_gw.client.delete(f"{services_path()}/NO_SUCH_{code}.json", headers=AUTH)
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    assert len(await config_definitions(write_gw, code)) == 1
