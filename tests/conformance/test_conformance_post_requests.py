"""§9.5 POST Service Request and §9.6 multipart/form-data [SPEC 2.3; PR-01..PR-12; G-70..G-73]."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from civicloop_testing.open311_catalogue import (
    BULKY,
    GRAFFITI,
    POTHOLE,
    SHELBYVILLE,
    SPRINGFIELD,
    STREETLIGHT,
    TREE,
    unique,
)
from civicloop_testing.polling import eventually
from conformance_harness import streetlight_fields
from conformance_wire import error_text, errors_of, requests_of, string_id

pytestmark = pytest.mark.integration


async def read_back(gateway, fmt, number):
    """GET requests/{id} (bounded wait for the view; the immediate read has a test of its own)."""

    async def found():
        r = await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD)
        return r if r.status_code == 200 else None

    r = await eventually(found, timeout=10, what=f"request {number}")
    [request] = requests_of(r, fmt)
    return request


# -- api_key (G-70..G-73) ---------------------------------------------------------------------------------------


async def test_G_70_post_without_api_key_is_403(gateway, fmt):
    """G-70, G-73, ER-02, ER-03: a missing key is 403 (not 400), with an error document naming api_key."""
    body = {"jurisdiction_id": SPRINGFIELD, **streetlight_fields()}
    errors = errors_of(await gateway.post("requests", fmt, body), fmt, 403)
    assert "api_key" in error_text(errors)


async def test_G_70_post_with_an_invalid_api_key_is_403(gateway, fmt):
    """G-70, ER-02: an unknown key — well-formed or not — is 403."""
    for key in ("xyz", "o311_abcdefgh_" + "A" * 43):
        body = {"api_key": key, "jurisdiction_id": SPRINGFIELD, **streetlight_fields()}
        errors = errors_of(await gateway.post("requests", fmt, body), fmt, 403)
        assert "api_key" in error_text(errors)


async def test_G_70_an_invalid_key_is_403_before_any_other_error(gateway, fmt):
    """G-70, G-73: a body with no service_code and no location but a bad key learns only about the key."""
    r = await gateway.post("requests", fmt, {"api_key": "nope", "jurisdiction_id": SPRINGFIELD})
    errors_of(r, fmt, 403)


async def test_G_71_api_key_in_the_query_string_is_accepted(gateway, fmt):
    """G-71: the Swagger draft sends api_key in the query; the body need not carry it."""
    body = {"jurisdiction_id": SPRINGFIELD, **streetlight_fields()}
    r = await gateway.post("requests", fmt, body, params={"api_key": gateway.partner.key})
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    string_id(answer["service_request_id"], fmt)


async def test_G_70_a_revoked_key_is_403(gateway, fmt):
    """G-70: a key the jurisdiction revoked (PartnerKeyRevoked) no longer writes."""
    body = {"api_key": gateway.revoked_partner.key, "jurisdiction_id": SPRINGFIELD, **streetlight_fields()}
    errors = errors_of(await gateway.post("requests", fmt, body), fmt, 403)
    assert "api_key" in error_text(errors)


async def test_G_71_api_key_as_a_bearer_token_is_accepted(gateway, fmt):
    """G-71 (documented choice: Austin's `Authorization: Bearer API_KEY` as well as body and query)."""
    r = await gateway.client.post(
        f"requests.{fmt}",
        data={"jurisdiction_id": SPRINGFIELD, **streetlight_fields()},
        headers={"Authorization": f"Bearer {gateway.partner.key}"},
    )
    assert r.status_code == 200, r.text
    string_id(requests_of(r, fmt)[0]["service_request_id"], fmt)


# -- service_code and location (PR-02, PR-03) -------------------------------------------------------------------


async def test_PR_02_missing_service_code_is_400(gateway, fmt):
    """PR-02, ER-02, ER-03."""
    errors = errors_of(await gateway.submit(fmt, **streetlight_fields(service_code=None)), fmt, 400)
    assert "service_code" in error_text(errors)


async def test_PR_02_unknown_service_code_is_404(gateway, fmt):
    """PR-02 (spec-literal 404), ER-02."""
    errors = errors_of(
        await gateway.submit(fmt, **streetlight_fields(service_code="NO_SUCH_SERVICE")), fmt, 404
    )
    assert "service_code" in error_text(errors) or "NO_SUCH_SERVICE" in error_text(errors)


async def test_PR_03_no_location_is_400(gateway, fmt):
    """PR-03: one of lat & long, address_string or address_id is required."""
    fields = streetlight_fields(lat=None, long=None, address_string=None)
    errors = errors_of(await gateway.submit(fmt, **fields), fmt, 400)
    assert "location" in error_text(errors).lower() or "lat" in error_text(errors)


async def test_PR_03_lat_without_long_is_400(gateway, fmt):
    """PR-03: "lat & long both need to be sent", even when an address is also given."""
    for fields in (streetlight_fields(long=None), streetlight_fields(lat=None, address_string=None)):
        errors = errors_of(await gateway.submit(fmt, **fields), fmt, 400)
        assert "lat" in error_text(errors) or "long" in error_text(errors)


async def test_PR_03_out_of_range_or_non_numeric_coordinates_are_400(gateway, fmt):
    """PR-03: WGS84 ranges -90..90 / -180..180; a coordinate is a number."""
    for lat, long in (("91", "-89.65"), ("39.78", "-181"), ("north", "-89.65")):
        errors_of(await gateway.submit(fmt, **streetlight_fields(lat=lat, long=long)), fmt, 400)


async def test_PR_03_address_only_and_address_id_only_are_accepted(gateway, fmt):
    """PR-03: address_string alone, or address_id alone (opaque, FMS sends `#NOTPINPOINTED#`), is a location."""
    for location in (
        {"address_string": "Corner of Elm and 5th"},
        {"address_string": "18 Elm St"},
        {"address_id": "#NOTPINPOINTED#"},
    ):
        fields = {"service_code": POTHOLE, "description": unique("Address-only pothole"), **location}
        r = await gateway.submit(fmt, **fields)
        assert r.status_code == 200, r.text
        [answer] = requests_of(r, fmt)
        request = await read_back(gateway, fmt, answer["service_request_id"])
        assert request["lat"] is None and request["long"] is None, "no point: empty lat/long (SR-20)"
        # SR-12, generalised (DESIGN §4): the block of a street address; free text that names no block is not shown.
        assert request["address"] == {"18 Elm St": "0 block of Elm St"}.get(location.get("address_string")), (
            "SR-12"
        )
        assert request["address_id"] == location.get("address_id"), "SR-13: kept as opaque text"


# -- attributes (PR-04, PR-05) ----------------------------------------------------------------------------------


async def test_PR_05_missing_required_attribute_is_400_naming_the_code(gateway, fmt):
    """PR-05, ER-05: every required attribute missing is named (Chicago's test looks for "CODE required")."""
    fields = streetlight_fields(**{"attribute[POLE_ID]": None, "attribute[LAMP_STATE]": None})
    errors = errors_of(await gateway.submit(fmt, **fields), fmt, 400)
    text = error_text(errors)
    assert "POLE_ID" in text and "LAMP_STATE" in text, text


async def test_PR_05_empty_required_attribute_is_missing(gateway, fmt):
    """PR-05, G-50: `attribute[POLE_ID]=` is the same as not sending it."""
    errors = errors_of(
        await gateway.submit(fmt, **streetlight_fields(**{"attribute[POLE_ID]": ""})), fmt, 400
    )
    assert "POLE_ID" in error_text(errors)


async def test_PR_05_bad_singlevaluelist_key_is_400(gateway, fmt):
    """PR-05: a singlevaluelist answer is one of the keys (the name is not a key)."""
    for bad in ("Completely out", "exploded"):
        fields = streetlight_fields(**{"attribute[LAMP_STATE]": bad})
        errors = errors_of(await gateway.submit(fmt, **fields), fmt, 400)
        assert "LAMP_STATE" in error_text(errors)


async def test_PR_05_bad_multivaluelist_key_number_and_datetime_are_400(gateway, fmt):
    """PR-05: multivaluelist ⊆ keys; number parses as a number; datetime parses as ISO 8601."""
    for code, bad in (
        ("HAZARDS", "lava"),
        ("HEIGHT_M", "tall"),
        ("HEIGHT_M", "NaN"),
        ("NOTICED_AT", "last tuesday"),
    ):
        errors = errors_of(
            await gateway.submit(fmt, **streetlight_fields(**{f"attribute[{code}]": bad})), fmt, 400
        )
        assert code in error_text(errors), f"{code}: {error_text(errors)}"


async def test_PR_05_singlevaluelist_takes_one_value(gateway, fmt):
    """PR-05, SD-05: a singlevaluelist holds one of the values."""
    fields = {
        "api_key": gateway.partner.key,
        "jurisdiction_id": SPRINGFIELD,
        **streetlight_fields(**{"attribute[LAMP_STATE]": None}),
    }
    data = [*fields.items(), ("attribute[LAMP_STATE]", "out"), ("attribute[LAMP_STATE]", "flicker")]
    errors = errors_of(await gateway.post("requests", fmt, data), fmt, 400)
    assert "LAMP_STATE" in error_text(errors)


@pytest.mark.parametrize("style", ["brackets", "repeated"])
async def test_PR_04_multivaluelist_in_both_encodings(gateway, fmt, style):
    """PR-04: `attribute[c][]=a&attribute[c][]=b` (spec) and `attribute[c]=a&attribute[c]=b` (FixMyStreet)
    are both a multivaluelist answer; every other datatype is accepted in its own form."""
    name = "attribute[HAZARDS][]" if style == "brackets" else "attribute[HAZARDS]"
    fields = {
        "api_key": gateway.partner.key,
        "jurisdiction_id": SPRINGFIELD,
        **streetlight_fields(
            **{
                "attribute[HEIGHT_M]": "7.5",
                "attribute[NOTICED_AT]": "2026-11-20T21:15:00-06:00",
                "attribute[NOTES]": "Line one\nline two",
            }
        ),
    }
    data = [*fields.items(), (name, "wires"), (name, "glass")]
    r = await gateway.post("requests", fmt, data)
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    string_id(answer["service_request_id"], fmt)


async def test_PR_04_attribute_codes_with_spaces_and_punctuation(gateway, fmt):
    """PR-04, PR-05: `attribute[Is it leaning?]` is the attribute `Is it leaning?` (Shelbyville's tree service);
    a wrong key for it is a 400 naming it."""
    base = {
        "api_key": gateway.other_partner.key,
        "jurisdiction_id": SHELBYVILLE,
        "service_code": TREE,
        "address_string": "Oak Ave & 3rd",
        "attribute[BLOCKING]": "yes",
    }
    r = await gateway.post(
        "requests", fmt, {**base, "description": unique("Leaning oak"), "attribute[Is it leaning?]": "no"}
    )
    assert r.status_code == 200, r.text
    errors = errors_of(
        await gateway.post(
            "requests",
            fmt,
            {**base, "description": unique("Leaning oak"), "attribute[Is it leaning?]": "maybe"},
        ),
        fmt,
        400,
    )
    assert "Is it leaning?" in error_text(errors)


async def test_G_50_empty_optional_attributes_are_absent(gateway, fmt):
    """G-50, PR-05: FixMyStreet sends `attribute[x]=` for unanswered optional attributes."""
    fields = streetlight_fields(
        **{f"attribute[{c}]": "" for c in ("HAZARDS", "HEIGHT_M", "NOTICED_AT", "NOTES")}
    )
    r = await gateway.submit(fmt, **fields)
    assert r.status_code == 200, r.text


async def test_PR_05_unknown_and_informational_attributes_are_accepted(gateway, fmt):
    """PR-05, SD-03, SD-13, G-51: FixMyStreet adds `attribute[fixmystreet_id]`, `attribute[uprn]` and `deviceid`;
    an answer to an informational (variable=false) attribute is not an error either."""
    fields = streetlight_fields(
        **{
            "attribute[fixmystreet_id]": "1234",
            "attribute[uprn]": "100023336956",
            "attribute[SAFETY]": "ok",
            "deviceid": "abc",
            "email_alerts_requested": "TRUE",
        }
    )
    r = await gateway.submit(fmt, **fields)
    assert r.status_code == 200, r.text


# -- description (PR-06) ----------------------------------------------------------------------------------------


async def test_PR_06_description_over_4000_characters_is_400(gateway, fmt):
    """PR-06 (documented choice: refuse, never truncate silently): 4000 characters pass, 4001 do not."""
    ok = unique("x")
    ok += "y" * (4000 - len(ok))
    r = await gateway.submit(fmt, **streetlight_fields(description=ok))
    assert r.status_code == 200, r.text
    errors = errors_of(await gateway.submit(fmt, **streetlight_fields(description=ok + "z")), fmt, 400)
    assert "description" in error_text(errors) and "4" in error_text(errors)


async def test_PR_06_html_is_stripped_and_line_breaks_kept(gateway, fmt):
    """PR-06 (documented choice: tags removed, prose with `<` kept), SR-06: no html or code, line breaks allowed;
    XML output is escaped."""
    marker = unique("Deep")
    text = f"{marker} <b>pothole</b><script>alert(1)</script>\nwidth < 5 m & depth > 20 cm"
    r = await gateway.submit(fmt, service_code=POTHOLE, lat="39.78", long="-89.65", description=text)
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    request = await read_back(gateway, fmt, answer["service_request_id"])
    assert request["description"] == f"{marker} pothole\nwidth < 5 m & depth > 20 cm"


# -- answers by service type (PR-09, PR-10) ---------------------------------------------------------------------


async def test_PR_09_realtime_answer_is_one_request_with_its_id_and_no_token(gateway, fmt):
    """PR-09, PR-10, G-21, G-22, G-30, G-31: 200; <service_requests><request> with service_request_id only
    (service_notice and account_id may be returned, empty)."""
    r = await gateway.submit(fmt, **streetlight_fields())
    assert r.status_code == 200, r.text
    answers = requests_of(r, fmt)
    assert len(answers) == 1, "a one-element list (PR-10)"
    [answer] = answers
    string_id(answer["service_request_id"], fmt)
    assert answer.get("token") is None, "no token with a service_request_id (PR-09)"
    assert set(answer) <= {"service_request_id", "service_notice", "account_id"}, set(answer)


async def test_PR_09_batch_answer_is_a_token_only(gateway, fmt):
    """PR-09, SL-05: batch → token, and no service_request_id."""
    r = await gateway.submit(
        fmt, service_code=BULKY, address_string="12 Oak St", description=unique("Old sofa")
    )
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    string_id(answer["token"], fmt)
    assert answer.get("service_request_id") is None, "no service_request_id with a token (PR-09)"


async def test_PR_09_blackbox_answer_has_neither_id_nor_token(gateway, fmt):
    """PR-09, SL-05: blackbox → "No service request ID will be returned", and no token either."""
    r = await gateway.submit(
        fmt,
        service_code=GRAFFITI,
        address_string="Underpass, Route 9",
        description=unique("Tags on the wall"),
    )
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    assert answer.get("service_request_id") is None and answer.get("token") is None, answer


async def test_PR_08_contact_fields_are_optional_and_never_echoed(gateway, fmt):
    """PR-08, SR-21: every contact field accepted; none of them in the answer or in the public request."""
    contact = {
        "email": "homer.simpson@example.org",
        "phone": "+1 217 555 0123",
        "first_name": "Homer",
        "last_name": "Simpson",
        "device_id": "tt222111",
        "account_id": "acct-8841",
    }
    r = await gateway.submit(fmt, **streetlight_fields(**contact))
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    request = await read_back(gateway, fmt, answer["service_request_id"])
    for value in contact.values():
        assert value not in r.text, f"{value} echoed in the POST answer"
    r = await gateway.get(f"requests/{answer['service_request_id']}", fmt, jurisdiction_id=SPRINGFIELD)
    for value in (
        "homer.simpson@example.org",
        "555 0123",
        "5550123",
        "Homer",
        "Simpson",
        "tt222111",
        "acct-8841",
    ):
        assert value not in r.text, f"{value} in the public request (SR-21)"
    assert request["service_code"] == STREETLIGHT


async def test_PR_11_a_retried_post_is_the_same_request(gateway, fmt):
    """PR-11 (documented choice: the same partner posting the same body under the same `Idempotency-Key` within
    the dedup window gets the request its first POST made, so a partner's retries never make a second request)."""
    fields = streetlight_fields()
    retry = {"Idempotency-Key": str(uuid.uuid4())}
    first = requests_of(await gateway.submit(fmt, headers=retry, **fields), fmt)[0]["service_request_id"]
    again = requests_of(await gateway.submit(fmt, headers=retry, **fields), fmt)[0]["service_request_id"]
    assert first == again
    other = requests_of(await gateway.submit(fmt, headers=retry, **streetlight_fields()), fmt)[0][
        "service_request_id"
    ]
    assert other != first, "a different body is a different request"
    by_another_partner = await gateway.post(
        "requests",
        fmt,
        {"api_key": gateway.other_partner.key, "jurisdiction_id": SPRINGFIELD, **fields},
        headers=retry,
    )
    assert requests_of(by_another_partner, fmt)[0]["service_request_id"] != first, "another partner's report"


async def test_PR_11_two_residents_identical_anonymous_posts_are_two_requests(gateway, fmt):
    """PR-11: without an Idempotency-Key, an anonymous body proves no retry: two residents sending the same form
    through the same partner make two requests."""
    fields = streetlight_fields()
    first = requests_of(await gateway.submit(fmt, **fields), fmt)[0]["service_request_id"]
    second = requests_of(await gateway.submit(fmt, **fields), fmt)[0]["service_request_id"]
    assert first != second


async def test_PR_11_concurrent_identical_posts_make_one_request(gateway, fmt):
    """PR-11: five identical POSTs at once under one Idempotency-Key (a client retrying on a timeout) get one and
    the same request."""
    fields = streetlight_fields()
    retry = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(*(gateway.submit(fmt, headers=retry, **fields) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    numbers = {requests_of(a, fmt)[0]["service_request_id"] for a in answers}
    assert len(numbers) == 1, numbers


async def test_R1_01_a_realtime_request_is_readable_right_after_its_post(gateway, fmt):
    """R1-01, R1-02, PR-09: realtime returns the id "immediately"; the request exists, so GET requests/{id} at
    once (no waiting on the client's side) finds it and does not answer 404."""
    r = await gateway.submit(fmt, **streetlight_fields())
    [answer] = requests_of(r, fmt)
    r = await gateway.get(f"requests/{answer['service_request_id']}", fmt, jurisdiction_id=SPRINGFIELD)
    assert r.status_code == 200, f"GET right after POST: {r.status_code} {r.text[:300]}"
    assert requests_of(r, fmt)[0]["service_request_id"] == answer["service_request_id"]


# -- §9.6 multipart ---------------------------------------------------------------------------------------------


async def test_PR_01_multipart_form_data_works_and_a_file_is_refused_not_dropped(gateway, fmt):
    """PR-01, PR-04, PR-07: FixMyStreet switches to multipart/form-data when it uploads photos (`photo1`); the same
    fields work, repeated attribute keys included. CivicLoop stores no uploads: a file part is refused (400, naming
    media_url) rather than dropped while the request is created."""
    marker = unique("Multipart lamp")
    fields = [
        ("api_key", gateway.partner.key),
        ("jurisdiction_id", SPRINGFIELD),
        *streetlight_fields(description=marker).items(),
        ("attribute[HAZARDS]", "wires"),
        ("attribute[HAZARDS]", "leaning"),
        ("media_url", "https://photos.example.org/lamp-1.jpg"),
    ]
    files = {"photo1": ("lamp.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")}
    refused = await gateway.post("requests", fmt, fields, files=files)
    assert refused.status_code == 400, refused.text
    assert "media_url" in refused.text
    grouped: dict[str, list[str]] = {}
    for name, value in fields:
        grouped.setdefault(name, []).append(value)
    # A part without a filename is a text field: it makes the body multipart, without a file.
    text_only = {"note": (None, b"a text part")}
    r = await gateway.client.post(f"requests.{fmt}", data=grouped, files=text_only)
    assert r.status_code == 200, r.text
    assert r.request.headers["content-type"].startswith("multipart/form-data")
    [answer] = requests_of(r, fmt)
    request = await read_back(gateway, fmt, answer["service_request_id"])
    assert request["description"] == marker
    assert request["media_url"] == "https://photos.example.org/lamp-1.jpg"


async def test_PR_01_form_with_charset_content_type(gateway, fmt):
    """G-11, PR-01, G-10: the spec's exact header `application/x-www-form-urlencoded; charset=utf-8`."""
    from urllib.parse import urlencode

    marker = unique("Charset pothole – ß")  # noqa: RUF001 - non-ASCII on purpose
    body = urlencode(
        {
            "api_key": gateway.partner.key,
            "jurisdiction_id": SPRINGFIELD,
            "service_code": POTHOLE,
            "lat": "39.7817",
            "long": "-89.6501",
            "description": marker,
        }
    ).encode()
    r = await gateway.client.post(
        f"requests.{fmt}",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    assert (await read_back(gateway, fmt, answer["service_request_id"]))["description"] == marker


async def test_PR_07_repeated_media_url_is_accepted(gateway, fmt):
    """PR-07, SR-17: FixMyStreet repeats media_url, one per photo; the request object shows one URL."""
    fields = {"api_key": gateway.partner.key, "jurisdiction_id": SPRINGFIELD, **streetlight_fields()}
    data = [
        *fields.items(),
        ("media_url", "https://photos.example.org/a.jpg "),
        ("media_url", "https://photos.example.org/b.jpg"),
    ]
    r = await gateway.post("requests", fmt, data)
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    request = await read_back(gateway, fmt, answer["service_request_id"])
    assert request["media_url"] == "https://photos.example.org/a.jpg"


async def test_ER_02_several_problems_are_reported_together(gateway, fmt):
    """ER-02 ("Multiple errors codes and descriptions can be returned"), ER-05: one 400 lists each problem."""
    fields = streetlight_fields(long=None, **{"attribute[POLE_ID]": None, "attribute[LAMP_STATE]": "bogus"})
    errors = errors_of(await gateway.submit(fmt, **fields), fmt, 400)
    text = error_text(errors)
    assert "POLE_ID" in text and "LAMP_STATE" in text and "long" in text, text
    assert len(errors) >= 3, "one <error> per problem (documented: every broken rule is its own error)"
