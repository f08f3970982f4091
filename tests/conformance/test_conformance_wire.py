"""§9.10 unknown formats and wrong methods, §9.11 encoding; the transport rules every resource shares."""

from __future__ import annotations

import pytest
from civicloop_testing.open311_catalogue import POTHOLE, SPRINGFIELD, STREETLIGHT, unique
from civicloop_testing.open311_reading import CONTENT_TYPES, read
from civicloop_testing.polling import eventually
from conformance_harness import streetlight_fields
from conformance_wire import error_text, errors_of, requests_of

pytestmark = pytest.mark.integration


# -- §9.10 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "services.csv",
        "requests.html",
        f"services/{STREETLIGHT}.yaml",
        "discovery.XML",
        "services",
        "requests/ABCD-EFGH",
    ],
)
async def test_G_05_unknown_or_missing_format_suffix_is_404_with_an_xml_error(gateway, path):
    """G-05, G-01, ER-03: an unknown extension (or none) is a 404 with an Open311 error document, in XML since
    no known format was asked for."""
    r = await gateway.client.get(path, params={"jurisdiction_id": SPRINGFIELD})
    errors_of(r, "xml", 404)


async def test_G_05_post_with_an_unknown_format_suffix_is_404(gateway):
    """G-05: the same for POST requests.csv (with a valid key and body)."""
    body = {"api_key": gateway.partner.key, "jurisdiction_id": SPRINGFIELD, **streetlight_fields()}
    errors_of(await gateway.client.post("requests.csv", data=body), "xml", 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "services"),
        ("POST", f"services/{STREETLIGHT}"),
        ("POST", "discovery"),
        ("POST", "tokens/369FBB0C-4755-11EC-96C0-F6CCC296753D"),
        ("PUT", "requests"),
        ("DELETE", "requests"),
        ("POST", "requests/ABCD-EFGH"),
        ("DELETE", "requests/ABCD-EFGH"),
        ("PATCH", "servicerequestupdates"),
    ],
)
async def test_G_03_wrong_method_is_405_with_an_errors_body(gateway, fmt, method, path):
    """G-03, ER-01..ER-03: a method a resource does not have is 405 (with Allow) or 400, with an Open311 error
    document in the requested format — never an HTML or FastAPI JSON body."""
    r = await gateway.client.request(
        method,
        f"{path}.{fmt}",
        params={"jurisdiction_id": SPRINGFIELD},
        data={"api_key": gateway.partner.key} if method != "DELETE" else None,
    )
    assert r.status_code in (405, 400), f"{method} {path}: {r.status_code} {r.text[:200]}"
    errors_of(r, fmt, r.status_code)
    if r.status_code == 405:
        assert r.headers.get("allow"), "a 405 names the allowed methods"


async def test_ER_02_validation_never_answers_422(gateway, fmt):
    """ER-02: "basically 400 for any other error": a malformed query is a 400 Open311 error, not FastAPI's 422."""
    r = await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, page="two")
    errors_of(r, fmt, 400)


async def test_G_36_reads_allow_any_origin(gateway, fmt):
    """G-36 (documented choice: CORS on GET endpoints, as FixMyStreet's server does)."""
    r = await gateway.get("services", fmt, jurisdiction_id=SPRINGFIELD)
    assert r.headers.get("access-control-allow-origin") == "*"


async def test_G_11_every_answer_has_the_spec_content_type(gateway, fmt):
    """G-11, G-10: success and error answers alike carry `text/xml; charset=utf-8` or
    `application/json; charset=utf-8`."""
    answers = [
        await gateway.get("discovery", fmt),
        await gateway.get("services", fmt, jurisdiction_id=SPRINGFIELD),
        await gateway.get("services", fmt),  # 400
        await gateway.get("requests/ABCD-EFGH", fmt, jurisdiction_id=SPRINGFIELD),  # 404
        await gateway.post("requests", fmt, {"jurisdiction_id": SPRINGFIELD}),  # 403
    ]
    for r in answers:
        assert r.headers["content-type"] == CONTENT_TYPES[fmt], (r.request.url, r.headers["content-type"])


# -- §9.11 ------------------------------------------------------------------------------------------------------

NON_ASCII = "Schlagloch vor Nr. 12 – größer als 30 cm · Нида́ · 水たまり · دوار · 🚧 · naïve café · ½ m · “quoted” 'single'"  # noqa: RUF001 - non-ASCII on purpose


async def test_G_10_non_ascii_description_round_trips(gateway, fmt):
    """G-10, §9.11: UTF-8 in, UTF-8 out, XML escaped, no mojibake — in the POST's form body and in an attribute,
    read back in both formats."""
    marker = unique(NON_ASCII)
    address = "135 Straße des 17. Juni, Zürich"  # served at block level (DESIGN §4), its text kept
    r = await gateway.submit(
        fmt,
        **streetlight_fields(
            description=marker, address_string=address, **{"attribute[NOTES]": "Bäume & Büsche <dicht>"}
        ),
    )
    assert r.status_code == 200, r.text
    number = requests_of(r, fmt)[0]["service_request_id"]
    for out in ("xml", "json"):

        async def found(out=out):
            r = await gateway.get(f"requests/{number}", out, jurisdiction_id=SPRINGFIELD)
            return r if r.status_code == 200 else None

        answer = await eventually(found, timeout=10, what=number)
        [request] = requests_of(answer, out)  # strict UTF-8 decoding happens here
        assert request["description"] == marker
        assert request["address"] == "100 block of Straße des 17. Juni, Zürich"
        assert "Ã" not in answer.content.decode("utf-8"), "mojibake (UTF-8 read as Latin-1)"
        if out == "json":
            assert marker.encode() in answer.content or "\\u" in answer.text


async def test_G_10_non_ascii_in_path_and_query_is_read_as_utf8(gateway, fmt):
    """G-10, G-03: a percent-encoded UTF-8 path parameter is decoded as UTF-8 and named in the 404."""
    r = await gateway.get("requests/Zürich-1", fmt, jurisdiction_id=SPRINGFIELD)
    errors = errors_of(r, fmt, 404)
    assert "Zürich-1" in error_text(errors)


async def test_G_20_xml_answers_have_no_namespaces_doctype_or_attributes(gateway):
    """G-20, G-10: schemaless XML, no namespace, no DOCTYPE, no XML attributes, the UTF-8 declaration first
    (checked by the reader for every answer; here over each resource once)."""
    for path, params in (
        ("discovery", {}),
        ("services", {"jurisdiction_id": SPRINGFIELD}),
        (f"services/{STREETLIGHT}", {"jurisdiction_id": SPRINGFIELD}),
        ("requests", {"jurisdiction_id": SPRINGFIELD}),
        ("servicerequestupdates", {"jurisdiction_id": SPRINGFIELD}),
    ):
        r = await gateway.get(path, "xml", **params)
        assert r.status_code == 200, (path, r.text[:200])
        read(r, "xml")


async def test_PR_06_xml_special_characters_are_escaped_not_reflected(gateway):
    """PR-06, G-20: `]]>`, `&amp;`, quotes and a lone `<` in a description come back as the same text."""
    marker = unique("a ]]> b &amp; c \"d\" 'e' < f")
    r = await gateway.submit("xml", service_code=POTHOLE, lat="39.78", long="-89.65", description=marker)
    number = requests_of(r, "xml")[0]["service_request_id"]

    async def found():
        r = await gateway.get(f"requests/{number}", "xml", jurisdiction_id=SPRINGFIELD)
        return r if r.status_code == 200 else None

    answer = await eventually(found, timeout=10, what=number)
    assert requests_of(answer, "xml")[0]["description"] == marker


@pytest.mark.parametrize("control", ["\x00", "\x0b", "\x1b[31m", "\ufffe"], ids=["nul", "vt", "esc", "fffe"])
async def test_G_10_characters_xml_cannot_carry_never_break_an_answer(gateway, fmt, control):
    """G-10, G-20, PR-06, ER-02: a description holding a character XML 1.0 cannot carry (NUL, other C0 controls,
    U+FFFE) is either refused with a 400 or accepted and served — the request then reads back in BOTH formats as
    well-formed documents, never a 500 and never a request that cannot be shown."""
    marker = unique("Control")
    r = await gateway.submit(
        fmt, service_code=POTHOLE, lat="39.78", long="-89.65", description=f"{marker} before{control}after"
    )
    if r.status_code == 400:
        errors_of(r, fmt, 400)
        return
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    number = requests_of(r, fmt)[0]["service_request_id"]
    for out in ("xml", "json"):
        answer = await gateway.get(f"requests/{number}", out, jurisdiction_id=SPRINGFIELD)
        assert answer.status_code == 200, f"{out}: {answer.status_code} {answer.text[:300]}"
        [request] = requests_of(answer, out)
        assert request["description"].startswith(marker)
    listing = await gateway.get("requests", "xml", jurisdiction_id=SPRINGFIELD)
    assert listing.status_code == 200
    requests_of(listing, "xml")


async def test_G_10_form_bytes_that_are_not_utf8_never_cause_a_500(gateway, fmt):
    """G-10 ("input from clients is assumed UTF-8"): a Latin-1 client's `caf%E9` is refused with a 400 or read
    with a replacement character — never a 500, never a request that cannot be shown."""
    marker = unique("Latin-1 client")
    body = (
        f"api_key={gateway.partner.key}&jurisdiction_id={SPRINGFIELD}&service_code={POTHOLE}"
        f"&lat=39.78&long=-89.65&description={marker.replace(' ', '+')}+caf%E9+cr%E8me"
    ).encode()
    r = await gateway.client.post(
        f"requests.{fmt}", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    if r.status_code == 400:
        errors_of(r, fmt, 400)
        return
    assert r.status_code == 200, r.text
    number = requests_of(r, fmt)[0]["service_request_id"]
    for out in ("xml", "json"):
        answer = await gateway.get(f"requests/{number}", out, jurisdiction_id=SPRINGFIELD)
        assert answer.status_code == 200
        assert requests_of(answer, out)[0]["description"].startswith(marker)
