"""The neutral document model rendered as XML and as Spark JSON (G-10, G-20..G-24, G-30..G-33, G-40)."""

import json
from datetime import datetime, timedelta, timezone

from civicloop_open311.formats import Format
from civicloop_open311.render import Document, Many, render, to_json, to_xml
from lxml import etree

WHEN = datetime(2010, 4, 14, 6, 37, 38, 123456, tzinfo=timezone(timedelta(hours=-8)))


def test_G_10_xml_starts_with_the_utf8_declaration_and_parses():
    body = to_xml(Document("services", Many("service", [{"service_code": "001"}])))
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<services>')
    root = etree.fromstring(body)
    assert root.tag == "services" and root.nsmap == {} and dict(root.attrib) == {}


def test_G_22_one_repeated_child_is_still_wrapped_and_none_is_an_empty_container():
    one = etree.fromstring(
        to_xml(Document("service_requests", Many("request", [{"service_request_id": "A"}])))
    )
    assert [c.tag for c in one] == ["request"]
    assert one[0].findtext("service_request_id") == "A"
    empty = to_xml(Document("service_requests", Many("request", [])))
    assert etree.fromstring(empty).tag == "service_requests" and len(etree.fromstring(empty)) == 0
    assert to_json(Document("service_requests", Many("request", []))) == b"[]"


def test_G_30_json_drops_the_root_and_containers_are_always_arrays():
    doc = Document(
        "service_definition",
        {
            "service_code": "DMV66",
            "attributes": Many(
                "attribute", [{"code": "W", "values": Many("value", [{"key": "1", "name": "Ford"}])}]
            ),
        },
    )
    assert json.loads(to_json(doc)) == {
        "service_code": "DMV66",
        "attributes": [{"code": "W", "values": [{"key": "1", "name": "Ford"}]}],
    }
    xml = etree.fromstring(to_xml(doc))
    assert xml.find("attributes/attribute/values/value/name").text == "Ford"


def test_G_23_G_24_none_is_an_empty_element_or_null_and_booleans_are_literal():
    doc = Document("services", Many("service", [{"metadata": True, "variable": False, "group": None}]))
    service = etree.fromstring(to_xml(doc))[0]
    assert service.findtext("metadata") == "true" and service.findtext("variable") == "false"
    assert service.find("group") is not None and service.find("group").text is None
    assert json.loads(to_json(doc)) == [{"metadata": True, "variable": False, "group": None}]


def test_G_31_G_33_ids_stay_strings_and_coordinates_numbers():
    doc = Document(
        "service_requests",
        Many("request", [{"service_code": "006", "lat": 37.762221815, "long": -122.4651145}]),
    )
    assert json.loads(to_json(doc)) == [{"service_code": "006", "lat": 37.762221815, "long": -122.4651145}]
    request = etree.fromstring(to_xml(doc))[0]
    assert request.findtext("service_code") == "006"
    assert float(request.findtext("lat")) == 37.762221815


def test_G_40_datetimes_are_w3c_seconds_in_utc_in_both_formats():
    doc = Document("service_requests", Many("request", [{"requested_datetime": WHEN}]))
    assert etree.fromstring(to_xml(doc))[0].findtext("requested_datetime") == "2010-04-14T14:37:38Z"
    assert json.loads(to_json(doc)) == [{"requested_datetime": "2010-04-14T14:37:38Z"}]


def test_G_10_non_ascii_is_utf8_and_markup_is_escaped():
    text = "Straße <b>kaputt</b> & «déjà vu» 水"
    doc = Document("service_requests", Many("request", [{"description": text}]))
    xml = to_xml(doc)
    assert "Straße &lt;b&gt;kaputt&lt;/b&gt; &amp; «déjà vu» 水".encode() in xml
    assert etree.fromstring(xml)[0].findtext("description") == text
    raw = to_json(doc)
    assert "Straße".encode() in raw  # UTF-8, not \\u escapes
    assert json.loads(raw.decode("utf-8")) == [{"description": text}]


def test_G_10_characters_xml_cannot_carry_are_dropped_not_fatal():
    doc = Document(
        "service_requests", Many("request", [{"description": "bell\x07 and nul\x00 gone\ttab kept"}])
    )
    assert etree.fromstring(to_xml(doc))[0].findtext("description") == "bell and nul gone\ttab kept"


def test_G_01_render_picks_the_format():
    doc = Document("errors", Many("error", [{"code": 404, "description": "x"}]))
    assert render(doc, Format.json) == b'[{"code":404,"description":"x"}]'
    assert render(doc, Format.xml).endswith(
        b"<errors><error><code>404</code><description>x</description></error></errors>"
    )
