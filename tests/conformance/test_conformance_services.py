"""§9.2 GET Service List and §9.4 GET Service Definition [SPEC 2.1, 2.2]."""

from __future__ import annotations

import pytest
from civicloop_testing.open311_catalogue import (
    BULKY,
    GRAFFITI,
    POTHOLE,
    RETIRED,
    SHELBYVILLE,
    SPRINGFIELD,
    SPRINGFIELD_CODES,
    STREETLIGHT,
    STREETLIGHT_ATTRIBUTES,
    TREE,
    catalogue,
)
from civicloop_testing.open311_reading import ATTRIBUTE_FIELDS, SERVICE_FIELDS, leaf_text, read, xml_root
from conformance_wire import boolean, errors_of, string_id

pytestmark = pytest.mark.integration

DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def published(jurisdiction_id: str) -> dict[str, object]:
    return {p.service_code: p for j, p in catalogue() if j == jurisdiction_id}


async def service_list(gateway, fmt, jurisdiction_id=SPRINGFIELD):
    r = await gateway.get("services", fmt, jurisdiction_id=jurisdiction_id)
    assert r.status_code == 200, r.text
    return r, read(r, fmt, root="services")


# -- §9.2 ---------------------------------------------------------------------------------------------------


async def test_SL_08_service_list_has_every_field_of_every_service(gateway, fmt):
    """SL-01..SL-08, G-10, G-21, G-22, G-30, G-31: <services><service> / a top-level array; all seven fields."""
    r, services = await service_list(gateway, fmt)
    assert isinstance(services, list), "the service list is a top-level array (G-30)"
    if fmt == "xml":
        root = xml_root(r)
        assert [c.tag for c in root] == ["service"] * len(services)
    codes = [string_id(s["service_code"], fmt) for s in services]
    assert len(codes) == len(set(codes)), "service codes are unique (SL-01)"
    assert set(codes) == SPRINGFIELD_CODES
    for service in services:
        missing = [f for f in SERVICE_FIELDS if f not in service]
        assert not missing, f"{service.get('service_code')} lacks {missing} (SL-08: always emit all seven)"


async def test_SL_04_metadata_and_type_are_the_published_ones(gateway, fmt):
    """SL-02..SL-07, G-24, G-32: metadata a real boolean, true iff there are attributes; type one of three;
    name, description, group and keywords as the catalogue defines them."""
    _, services = await service_list(gateway, fmt)
    expected = published(SPRINGFIELD)
    for service in services:
        p = expected[service["service_code"]]
        assert boolean(service["metadata"], fmt) is bool(p.attributes), (
            f"metadata of {p.service_code} (SL-04)"
        )
        assert service["type"] in ("realtime", "batch", "blackbox"), service["type"]
        assert service["type"] == p.type.value, f"type of {p.service_code} (SL-05)"
        assert service["service_name"] == p.service_name
        assert (service["description"] or "") == p.description
        assert (service["group"] or "") == p.group
        keywords = [k.strip() for k in (service["keywords"] or "").split(",") if k.strip()]
        assert keywords == p.keywords, f"keywords are comma-separated (SL-06): {service['keywords']!r}"


async def test_G_23_empty_service_fields_are_empty_elements_or_null(gateway, fmt):
    """G-23, SL-08: a service with no description or group still has the fields, as "" / empty element / null."""
    _, services = await service_list(gateway, fmt)
    graffiti = next(s for s in services if s["service_code"] == GRAFFITI)
    for name in ("description", "group", "keywords"):
        assert name in graffiti and graffiti[name] in (None, ""), (
            f"{name} of an empty field: {graffiti[name]!r}"
        )


async def test_G_30_service_list_is_the_same_in_both_formats(gateway):
    """G-30: the JSON is the Spark mapping of the XML (same services, same values)."""
    _, xml = await service_list(gateway, "xml")
    _, json_ = await service_list(gateway, "json")
    by_code = {s["service_code"]: s for s in xml}
    for service in json_:
        as_text = {k: (v if v != "" else None) for k, v in leaf_text(service).items()}
        assert as_text == {k: (v if v != "" else None) for k, v in by_code[service["service_code"]].items()}


async def test_G_72_an_api_key_on_a_get_is_ignored(gateway, fmt):
    """G-72: FixMyStreet and Boston send api_key on GETs; it is not a reason to refuse (even an unknown key)."""
    r = await gateway.get("services", fmt, jurisdiction_id=SPRINGFIELD, api_key="not-a-key-we-know")
    assert r.status_code == 200, r.text


async def test_G_51_unknown_parameters_are_ignored(gateway, fmt):
    """G-51: extra parameters (FixMyStreet's `deviceid`) change nothing."""
    _, plain = await service_list(gateway, fmt)
    r = await gateway.get("services", fmt, jurisdiction_id=SPRINGFIELD, deviceid="abc", foo="bar")
    assert r.status_code == 200 and read(r, fmt, root="services") == plain


# -- §9.4 ---------------------------------------------------------------------------------------------------


async def definition(gateway, fmt, code, jurisdiction_id=SPRINGFIELD):
    return await gateway.get(f"services/{code}", fmt, jurisdiction_id=jurisdiction_id)


async def test_SD_12_definition_of_every_datatype_has_every_field(gateway, fmt):
    """SD-01..SD-10, SD-12, G-21, G-22, G-24, G-31, G-32: <service_definition> with <attributes><attribute>,
    all eight fields per attribute, <values><value> with key and name for the list datatypes."""
    r = await definition(gateway, fmt, STREETLIGHT)
    assert r.status_code == 200, r.text
    tree = read(r, fmt, root="service_definition")
    assert isinstance(tree, dict), "a service definition is an object (G-30)"
    assert string_id(tree["service_code"], fmt) == STREETLIGHT, "service_code echoes the URL (SD-01)"
    attributes = tree["attributes"]
    assert isinstance(attributes, list), "attributes is a container / an array (SD-02, G-30)"
    assert {a["code"] for a in attributes} == {a.code for a in STREETLIGHT_ATTRIBUTES}
    published_by_code = {a.code: a for a in STREETLIGHT_ATTRIBUTES}
    orders = []
    for attribute in attributes:
        missing = [f for f in ATTRIBUTE_FIELDS if f not in attribute]
        assert not missing, f"attribute {attribute.get('code')} lacks {missing} (SD-12)"
        p = published_by_code[attribute["code"]]
        assert attribute["datatype"] in DATATYPES and attribute["datatype"] == p.datatype.value, "SD-05"
        assert boolean(attribute["variable"], fmt) is p.variable, "SD-03"
        assert boolean(attribute["required"], fmt) is p.required, "SD-06"
        assert attribute["description"] == p.description, "SD-09"
        assert (attribute["datatype_description"] or None) == p.datatype_description, "SD-07"
        order = attribute["order"]
        if fmt == "json":
            assert isinstance(order, int) and not isinstance(order, bool), (
                f"order {order!r} is a JSON integer"
            )
        orders.append(int(order))
        if p.datatype.value in ("singlevaluelist", "multivaluelist"):
            values = attribute.get("values")
            assert isinstance(values, list) and values, f"{p.code}: list datatypes carry values (SD-10)"
            assert [(string_id(v["key"], fmt), v["name"]) for v in values] == [
                (v.key, v.name) for v in p.values
            ]
        else:
            assert not attribute.get("values"), f"{p.code}: values only for list datatypes (SD-10)"
    assert all(o > 0 for o in orders) and len(set(orders)) == len(orders), f"orders {orders} (SD-08)"


async def test_SD_12_definition_is_the_same_in_both_formats(gateway):
    """G-30: the JSON definition is the Spark mapping of the XML one."""
    xml = read(await definition(gateway, "xml", STREETLIGHT), "xml", root="service_definition")
    json_ = leaf_text(read(await definition(gateway, "json", STREETLIGHT), "json"))

    def norm(tree):
        return {
            **tree,
            "attributes": sorted(
                (
                    {k: (v if v != "" else None) for k, v in a.items() if k != "values"}
                    | {"values": a.get("values") or []}
                    for a in tree["attributes"]
                ),
                key=lambda a: a["code"],
            ),
        }

    assert norm(xml) == norm(json_)


async def test_SD_11_unknown_service_code_is_404_in_the_requested_format(gateway, fmt):
    """SD-11, ER-01..ER-03: 404 with an Open311 error document in the format asked for."""
    errors = errors_of(await definition(gateway, fmt, "NO_SUCH_SERVICE"), fmt, 404)
    assert any(str(e["code"]) == "404" for e in errors)


async def test_SD_11_service_code_of_another_jurisdiction_is_404(gateway, fmt):
    """SD-11, G-60: Shelbyville's service is not Springfield's."""
    errors_of(await definition(gateway, fmt, TREE, jurisdiction_id=SPRINGFIELD), fmt, 404)


async def test_SD_11_service_without_metadata_has_no_attributes_to_fetch(gateway, fmt):
    """SD-11, SL-04: for metadata=false the gateway answers either 404 or an empty <attributes/> container,
    consistent for every such service (pothole: realtime; bulky: batch)."""
    for code in (POTHOLE, BULKY):
        r = await definition(gateway, fmt, code)
        if r.status_code == 404:
            errors_of(r, fmt, 404)
        else:
            assert r.status_code == 200, r.text
            tree = read(r, fmt, root="service_definition")
            assert tree["service_code"] == code and tree["attributes"] == [], tree


async def test_G_03_service_code_with_a_dot_routes(gateway, fmt):
    """G-03: the format is split off at the last dot, so `services/parks.tree.xml` is the definition of
    `parks.tree`."""
    r = await definition(gateway, fmt, TREE, jurisdiction_id=SHELBYVILLE)
    assert r.status_code == 200, r.text
    tree = read(r, fmt, root="service_definition")
    assert tree["service_code"] == TREE
    assert {a["code"] for a in tree["attributes"]} == {"BLOCKING", "SPECIES", "GIRTH_CM", "Is it leaning?"}


async def test_SD_08_orders_are_unique_positive_integers_even_from_a_sloppy_catalogue(gateway, fmt):
    """SD-08, SD-15: the catalogue gave one attribute no order (0) and two the same one; the definition still has
    "any positive integer not used for other attributes", and keeps the given order where it can."""
    tree = read(
        await definition(gateway, fmt, TREE, jurisdiction_id=SHELBYVILLE), fmt, root="service_definition"
    )
    orders = {a["code"]: int(a["order"]) for a in tree["attributes"]}
    assert all(o > 0 for o in orders.values()) and len(set(orders.values())) == len(orders), orders
    assert orders["SPECIES"] < orders["BLOCKING"] < orders["GIRTH_CM"] < orders["Is it leaning?"], orders


async def test_SL_01_a_withdrawn_service_is_not_listed_defined_or_accepted(gateway, fmt):
    """SL-01, SD-11, PR-02: a service the catalogue made inactive is gone from the list (SL-08 list check), its
    definition is a 404, and a POST to it is a 404."""
    _, services = await service_list(gateway, fmt)
    assert RETIRED not in {s["service_code"] for s in services}
    errors_of(await definition(gateway, fmt, RETIRED), fmt, 404)
    r = await gateway.submit(fmt, service_code=RETIRED, address_string="1 Main St", description="snow")
    errors_of(r, fmt, 404)


async def test_G_03_path_parameters_are_url_decoded(gateway, fmt):
    """G-03: an encoded path parameter is decoded before lookup (`STREETLIGHT%2D01` is `STREETLIGHT-01`)."""
    r = await gateway.client.get(f"services/STREETLIGHT%2D01.{fmt}", params={"jurisdiction_id": SPRINGFIELD})
    assert r.status_code == 200, r.text
    assert read(r, fmt, root="service_definition")["service_code"] == STREETLIGHT
