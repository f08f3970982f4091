"""Untrusted XML: the gateway reads POST bodies only as form fields (PR-01), never as XML, so an XML body — entity
expansion ("billion laughs") or external entities (XXE) included — is not parsed: the POST is answered at once
with an Open311 error about the fields it lacks, nothing is created, and nothing is fetched or expanded.

Should XML input ever be added, `test_PR_01_no_unsafe_xml_parser_in_the_gateway` requires it to go through
defusedxml (or an lxml parser with entities, DTDs and network access off).
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import civicloop_backend_adapters
import civicloop_gateway
import civicloop_open311
import civicloop_outbound
import pytest
from civicloop_testing.open311_catalogue import SPRINGFIELD
from conformance_wire import error_text, errors_of, requests_of

pytestmark = pytest.mark.integration

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<service_request><service_code>POTHOLE</service_code><lat>39.78</lat><long>-89.65</long>
<description>&lol9;</description></service_request>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "http://169.254.169.254/latest/">]>
<service_request><service_code>POTHOLE</service_code><address_string>&xxe;&net;</address_string>
<description>&xxe;</description></service_request>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion_laughs", "xxe"])
@pytest.mark.parametrize("resource", ["requests", "servicerequestupdates"])
@pytest.mark.parametrize("content_type", ["text/xml; charset=utf-8", "application/xml"])
async def test_PR_01_xml_bodies_are_refused_cleanly(gateway, fmt, body, resource, content_type):
    """PR-01, ER-02, ER-03: a hostile XML body (with a valid key and jurisdiction in the query) gets a prompt 400
    Open311 error for the missing form fields; no entity is expanded or fetched, no request made."""
    async with asyncio.timeout(5):
        r = await gateway.client.post(
            f"{resource}.{fmt}",
            content=body,
            headers={"Content-Type": content_type},
            params={"api_key": gateway.partner.key, "jurisdiction_id": SPRINGFIELD},
        )
    errors = errors_of(r, fmt, 400)
    text = error_text(errors)
    assert "lol" not in text and "root:" not in text, "entity content reflected"
    assert ("service_code" in text) if resource == "requests" else ("service_request_id" in text), text
    assert len(r.content) < 4096


async def test_PR_01_xml_body_creates_nothing(gateway):
    """PR-01: after the hostile bodies, no request holds their content."""
    r = await gateway.get("requests", "json", jurisdiction_id=SPRINGFIELD)
    assert all("lol" not in (x["description"] or "") for x in requests_of(r, "json"))


_PARSE_CALLS = {
    "fromstring",
    "XML",
    "parse",
    "iterparse",
    "XMLParser",
    "parseString",
    "make_parser",
    "XMLPullParser",
}


def test_PR_01_no_unsafe_xml_parser_in_the_gateway():
    """PR-01 and the untrusted-XML rule: any XML parsing in the gateway's packages imports defusedxml, or builds an lxml
    XMLParser with resolve_entities=False and no_network; today there is none (output is built, never parsed)."""
    # The gateway's three packages and the Open311 wire format they share (where the client's tolerant parsing is).
    roots = [
        Path(package.__file__).parent
        for package in (civicloop_gateway, civicloop_outbound, civicloop_backend_adapters, civicloop_open311)
    ]
    unsafe: list[str] = []
    for package_root, path in ((r, p) for r in roots for p in r.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        xml_names = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] in ("lxml", "xml", "xmltodict")
            ):
                xml_names |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Import):
                xml_names |= {
                    a.asname or a.name
                    for a in node.names
                    if a.name.split(".")[0] in ("lxml", "xml", "xmltodict")
                }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = (
                func.value.id
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                else name
            )
            if name not in _PARSE_CALLS or owner not in xml_names:
                continue
            keywords = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
            if (
                name == "XMLParser"
                and keywords.get("resolve_entities") is False
                and keywords.get("no_network", True)
            ):
                continue
            unsafe.append(f"{path.relative_to(package_root)}:{node.lineno} {owner}.{name}")
    assert not unsafe, f"XML parsed without defusedxml or a hardened parser: {unsafe}"
