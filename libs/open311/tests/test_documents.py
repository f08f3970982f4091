"""The document builders: services (SL-08), definitions (SD-02..SD-12), requests (SR-20, R1-01), tokens (TK-01,
TK-03), updates (FX-01), discovery (DS-03)."""

import json
from datetime import UTC, datetime

from civicloop_open311.documents import (
    REQUEST_FIELDS,
    attribute_orders,
    discovery_document,
    request_record,
    requests_document,
    service_definition_document,
    services_document,
    token_document,
    updates_document,
)
from civicloop_open311.render import to_json, to_xml
from civicloop_testing.open311_reading import ATTRIBUTE_FIELDS
from lxml import etree

T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_SL_08_every_service_has_all_seven_fields():
    doc = services_document(
        [
            {
                "service_code": "001",
                "service_name": "Cans",
                "description": "",
                "metadata": False,
                "type": "realtime",
                "keywords": "",
                "service_group": "sanitation",
            }
        ]
    )
    [service] = json.loads(to_json(doc))
    assert service == {
        "service_code": "001",
        "service_name": "Cans",
        "description": None,
        "metadata": False,
        "type": "realtime",
        "keywords": None,
        "group": "sanitation",
    }


def test_SD_08_orders_are_unique_positive_and_given_ones_stand():
    assert attribute_orders([{"order": 3}, {"order": 1}]) == [3, 1]
    assert attribute_orders([{"order": 0}, {"order": 0}, {"order": 2}]) == [1, 2, 3]
    assert attribute_orders([{"order": 2}, {"order": 2}]) == [1, 2]


def test_SD_10_SD_12_attributes_have_eight_fields_and_values_only_for_lists():
    doc = service_definition_document(
        "LIGHT",
        [
            {
                "code": "STATE",
                "datatype": "singlevaluelist",
                "required": True,
                "order": 2,
                "variable": True,
                "description": "What?",
                "datatype_description": None,
                "values": [{"key": "1", "name": "Out"}],
            },
            {
                "code": "POLE",
                "datatype": "string",
                "required": False,
                "order": 1,
                "variable": True,
                "description": "Pole",
                "datatype_description": "",
            },
        ],
    )
    body = json.loads(to_json(doc))
    assert body["service_code"] == "LIGHT"
    assert [a["code"] for a in body["attributes"]] == ["POLE", "STATE"]  # sorted by order
    pole, state = body["attributes"]
    assert set(pole) == set(ATTRIBUTE_FIELDS)  # SD-12
    assert state["values"] == [{"key": "1", "name": "Out"}]
    assert etree.fromstring(to_xml(doc)).find("attributes/attribute/values/value/key") is not None


def test_SR_20_every_request_has_all_seventeen_fields_in_spec_order():
    record = request_record(
        {
            "service_request_id": "A-1",
            "status": "open",
            "service_code": "006",
            "requested_datetime": T,
            "updated_datetime": T,
            "zipcode": "02111",
            "description": "",
            "lat": 1.5,
            "long": 2.5,
        }
    )
    assert tuple(record) == REQUEST_FIELDS
    assert record["zipcode"] == "02111" and record["description"] is None and record["lat"] == 1.5
    assert "extended_attributes" not in record
    extended = request_record({"service_request_id": "A-1"}, extensions=True, extended={"channel": "web"})
    assert extended["extended_attributes"] == {"channel": "web"}


def test_R1_01_a_single_request_is_a_list_of_one():
    doc = requests_document([request_record({"service_request_id": "A-1", "status": "open"})])
    assert isinstance(json.loads(to_json(doc)), list) and len(json.loads(to_json(doc))) == 1
    assert [c.tag for c in etree.fromstring(to_xml(doc))] == ["request"]


def test_TK_01_TK_03_resolved_tokens_carry_the_id_pending_ones_only_the_token():
    assert json.loads(to_json(token_document("T1", "ABCD-1234"))) == [
        {"service_request_id": "ABCD-1234", "token": "T1"}
    ]
    assert json.loads(to_json(token_document("T1", None))) == [{"token": "T1"}]


def test_FX_01_updates_have_every_field_and_string_ids():
    doc = updates_document(
        [
            {
                "update_id": "0190c1a2-0000-7000-8000-000000000001",
                "service_request_id": "A-1",
                "status": "closed",
                "updated_datetime": T,
                "description": "",
                "media_url": None,
                "external_status_code": "closed",
            }
        ]
    )
    root = etree.fromstring(to_xml(doc))
    assert root.tag == "service_request_updates" and root[0].tag == "request_update"
    [update] = json.loads(to_json(doc))
    assert update["update_id"] == "0190c1a2-0000-7000-8000-000000000001"
    assert update["description"] == "" and update["updated_datetime"] == "2026-01-02T03:04:05Z"


def test_DS_03_discovery_has_every_field_and_one_v2_endpoint():
    doc = discovery_document(
        changeset=T,
        contact="c",
        key_service="k",
        url="https://x/open311/v2",
        endpoint_type="production",
        formats=["text/xml", "application/json"],
        extensions=["page"],
    )
    body = json.loads(to_json(doc))
    assert (
        body["changeset"] == "2026-01-02T03:04:05Z" and body["contact"] == "c" and body["key_service"] == "k"
    )
    [endpoint] = body["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "https://x/open311/v2",
        "changeset": "2026-01-02T03:04:05Z",
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    xml = etree.fromstring(to_xml(doc))
    assert [f.text for f in xml.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
