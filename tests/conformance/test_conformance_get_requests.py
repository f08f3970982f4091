"""§9.7 GET tokens/{token}, §9.8 GET requests, §9.9 GET requests/{id} [SPEC 2.4-2.7]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events.payloads import ServiceRequestSubmittedV1
from civicloop_open311.documents import REQUEST_FIELDS
from civicloop_places import public_place
from civicloop_testing.events import request_event
from civicloop_testing.open311_catalogue import BULKY, POTHOLE, SHELBYVILLE, SPRINGFIELD, STREETLIGHT, unique
from civicloop_testing.open311_reading import CONTENT_TYPES, leaf_text, xml_root
from civicloop_testing.polling import eventually
from conformance_harness import CLOSED_AT, HISTORY, NOW, OGDENVILLE, RESIDENT, new_number, streetlight_fields
from conformance_wire import check_request_object, error_text, errors_of, number, requests_of, string_id

pytestmark = pytest.mark.integration


def w3c(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def listed(gateway, fmt, **params) -> list[dict]:
    r = await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, **params)
    assert r.status_code == 200, r.text
    return requests_of(r, fmt)


def ids(requests) -> set[str]:
    return {r["service_request_id"] for r in requests}


# -- §9.7 tokens ------------------------------------------------------------------------------------------------


async def test_TK_01_batch_token_resolves_to_its_request(gateway, fmt):
    """TK-01, TK-03, PR-12, G-21, G-30: right after the POST the token is known (200, token alone while
    pending, never a 404); then it answers one <request> with service_request_id and token."""
    r = await gateway.submit(
        fmt, service_code=BULKY, address_string="12 Oak St", description=unique("Fridge")
    )
    [answer] = requests_of(r, fmt)
    token = string_id(answer["token"], fmt)
    first = await gateway.get(f"tokens/{token}", fmt, jurisdiction_id=SPRINGFIELD)
    assert first.status_code == 200, f"an issued token is never a 404 (TK-03): {first.text}"
    [pending] = requests_of(first, fmt)
    assert pending["token"] == token and set(pending) <= {"token", "service_request_id"}, pending

    async def resolved():
        r = await gateway.get(f"tokens/{token}", fmt, jurisdiction_id=SPRINGFIELD)
        [item] = requests_of(r, fmt)
        return item if item.get("service_request_id") else None

    item = await eventually(resolved, timeout=10, what=f"token {token} resolving")
    assert item["token"] == token
    number_ = string_id(item["service_request_id"], fmt)
    r = await gateway.get(f"requests/{number_}", fmt, jurisdiction_id=SPRINGFIELD)
    assert r.status_code == 200, "a resolved token's id can be fetched at once"
    assert requests_of(r, fmt)[0]["service_code"] == BULKY


async def test_TK_02_unknown_token_is_404(gateway, fmt):
    """TK-02, ER-03."""
    errors_of(
        await gateway.get("tokens/369FBB0C-4755-11EC-96C0-F6CCC296753D", fmt, jurisdiction_id=SPRINGFIELD),
        fmt,
        404,
    )


async def test_TK_02_token_of_another_jurisdiction_is_404(gateway, fmt):
    """TK-02, G-60: a Springfield token means nothing in Shelbyville."""
    r = await gateway.submit(
        fmt, service_code=BULKY, address_string="3 Elm St", description=unique("Mattress")
    )
    token = requests_of(r, fmt)[0]["token"]
    errors_of(await gateway.get(f"tokens/{token}", fmt, jurisdiction_id=SHELBYVILLE), fmt, 404)


# -- §9.8 GET requests ------------------------------------------------------------------------------------------


async def test_RQ_03_default_window_is_the_last_90_days(gateway, fmt):
    """RQ-03, RQ-08: with no dates only requests of the last 90 days are listed (120 days ago is not)."""
    found = ids(await listed(gateway, fmt))
    h = gateway.history
    assert {h["at_30d"], h["at_45d_streetlight"], h["closed_20d"]} <= found
    assert h["old_120d"] not in found


async def test_RQ_02_service_request_id_overrides_every_other_filter(gateway, fmt):
    """RQ-02: ids given → exactly those, whatever the status, code and date window (even the default one)."""
    h = gateway.history
    wanted = [h["old_120d"], h["at_30d"], h["closed_20d"]]
    found = await listed(
        gateway,
        fmt,
        service_request_id=",".join(wanted),
        status="open",
        service_code=STREETLIGHT,
        start_date="2001-01-01T00:00:00Z",
        end_date="2001-01-02T00:00:00Z",
    )
    assert ids(found) == set(wanted) and len(found) == 3


async def test_RQ_02_unknown_ids_are_simply_absent(gateway, fmt):
    """RQ-02, RQ-06: no 404 on the list endpoint; unknown ids are not in the answer."""
    found = await listed(gateway, fmt, service_request_id=f"NOPE-0000,{gateway.history['at_30d']}")
    assert ids(found) == {gateway.history["at_30d"]}


async def test_RQ_01_service_code_is_a_comma_list(gateway, fmt):
    """RQ-01: `service_code=a,b` (and repeated) filters by any of the codes."""
    h = gateway.history
    window = {"start_date": w3c(NOW - timedelta(days=50)), "end_date": w3c(NOW - timedelta(days=25))}
    both = ids(await listed(gateway, fmt, service_code=f"{POTHOLE},{STREETLIGHT}", **window))
    assert {h["at_30d"], h["at_45d_streetlight"]} <= both
    repeated = ids(await listed(gateway, fmt, service_code=[POTHOLE, STREETLIGHT], **window))
    assert repeated == both
    only = await listed(gateway, fmt, service_code=STREETLIGHT, **window)
    assert h["at_45d_streetlight"] in ids(only) and {r["service_code"] for r in only} == {STREETLIGHT}


async def test_RQ_01_status_is_a_comma_list_or_repeated(gateway, fmt):
    """RQ-01, ST-01, SR-02: `status=closed`, `status=open,closed`, `status=open&status=closed`."""
    h = gateway.history
    window = {"start_date": w3c(NOW - timedelta(days=35)), "end_date": w3c(NOW - timedelta(days=15))}
    closed = await listed(gateway, fmt, status="closed", **window)
    assert h["closed_20d"] in ids(closed) and h["at_30d"] not in ids(closed)
    assert {r["status"] for r in closed} == {"closed"}
    opened = await listed(gateway, fmt, status="open", **window)
    assert h["at_30d"] in ids(opened) and h["closed_20d"] not in ids(opened)
    both = ids(await listed(gateway, fmt, status="open,closed", **window))
    assert {h["at_30d"], h["closed_20d"]} <= both
    assert ids(await listed(gateway, fmt, status=["open", "closed"], **window)) == both


async def test_RQ_05_unknown_status_is_400(gateway, fmt):
    """RQ-05, ER-03: `status=bogus` (and one bad value in a list) is a 400 naming status."""
    for value in ("bogus", "open,bogus", "in_progress"):
        errors = errors_of(
            await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, status=value), fmt, 400
        )
        assert "status" in error_text(errors)


async def test_G_50_empty_filters_are_absent(gateway, fmt):
    """G-50: `?status=&service_code=&start_date=` is the same as no filter at all."""
    plain = ids(await listed(gateway, fmt))
    empty = ids(await listed(gateway, fmt, status="", service_code="", start_date="", end_date=""))
    assert empty == plain


async def test_RQ_03_start_and_end_date_are_inclusive(gateway, fmt):
    """RQ-03 (documented choice: inclusive start, inclusive end): start_date = end_date = the requested_datetime
    finds the request; one second later as start, or earlier as end, does not."""
    number_, (_, when) = gateway.history["at_30d"], HISTORY["at_30d"]
    assert number_ in ids(await listed(gateway, fmt, start_date=w3c(when), end_date=w3c(when)))
    second = timedelta(seconds=1)
    assert number_ not in ids(
        await listed(gateway, fmt, start_date=w3c(when + second), end_date=w3c(when + timedelta(days=1)))
    )
    assert number_ not in ids(
        await listed(gateway, fmt, start_date=w3c(when - timedelta(days=1)), end_date=w3c(when - second))
    )


async def test_RQ_03_explicit_window_reaches_older_requests(gateway, fmt):
    """RQ-03: a window 100-130 days ago lists the request made 120 days ago."""
    found = ids(
        await listed(
            gateway, fmt, start_date=w3c(NOW - timedelta(days=130)), end_date=w3c(NOW - timedelta(days=100))
        )
    )
    assert gateway.history["old_120d"] in found


async def test_RQ_03_one_sided_windows_span_90_days(gateway, fmt):
    """RQ-03 (documented: only start → 90 days from it; only end → the 90 days up to it)."""
    h = gateway.history
    after = ids(await listed(gateway, fmt, start_date=w3c(NOW - timedelta(days=121))))
    assert h["old_120d"] in after and h["at_30d"] not in after, "start + 90 days ends ~31 days ago"
    before = ids(await listed(gateway, fmt, end_date=w3c(NOW - timedelta(days=29))))
    assert {h["at_30d"], h["at_45d_streetlight"]} <= before and h["old_120d"] not in before


async def test_RQ_03_span_over_90_days_is_400(gateway, fmt):
    """RQ-03 (documented choice: a span over 90 days is a 400 that says so, not a silent clamp)."""
    errors = errors_of(
        await gateway.get(
            "requests",
            fmt,
            jurisdiction_id=SPRINGFIELD,
            start_date="2026-01-01T00:00:00Z",
            end_date="2026-06-01T00:00:00Z",
        ),
        fmt,
        400,
    )
    assert "90" in error_text(errors)


async def test_RQ_05_unparsable_date_is_400(gateway, fmt):
    """RQ-05, G-41: a date that is not W3C is a 400 naming the parameter."""
    for name, value in (
        ("start_date", "yesterday"),
        ("end_date", "2026-13-45"),
        ("start_date", "24/10/2026"),
    ):
        errors = errors_of(
            await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, **{name: value}), fmt, 400
        )
        assert name in error_text(errors), error_text(errors)


async def test_G_41_reduced_precision_and_a_decoded_plus_are_read(gateway, fmt):
    """G-41: `2026-10-24` (a date alone) and an offset whose `+` arrived as a space are W3C input."""
    number_, (_, when) = gateway.history["at_30d"], HISTORY["at_30d"]
    day = when.astimezone(UTC).date().isoformat()
    assert number_ in ids(await listed(gateway, fmt, start_date=day, end_date=day))
    local = when.astimezone(UTC) + timedelta(hours=1)
    raw = local.strftime("%Y-%m-%dT%H:%M:%S") + "+01:00"  # sent unencoded: the server decodes `+` as a space
    r = await gateway.client.get(
        f"requests.{fmt}?jurisdiction_id={SPRINGFIELD}&start_date={raw}&end_date={raw}"
    )
    assert r.status_code == 200, r.text
    assert number_ in ids(requests_of(r, fmt))


async def test_RQ_06_empty_result_is_an_empty_container(gateway, fmt):
    """RQ-06, G-22, pitfall 3: 200 with `<service_requests></service_requests>` / `[]`."""
    r = await gateway.get(
        "requests",
        fmt,
        jurisdiction_id=SPRINGFIELD,
        start_date="2001-01-01T00:00:00Z",
        end_date="2001-01-31T00:00:00Z",
    )
    assert r.status_code == 200 and requests_of(r, fmt) == []
    if fmt == "xml":
        assert xml_root(r).tag == "service_requests" and len(xml_root(r)) == 0
    else:
        assert r.content.strip() == b"[]"


async def test_RQ_05_unknown_service_code_filter_is_an_empty_list(gateway, fmt):
    """RQ-05 (documented choice: an unknown code in the filter is an empty list, keeping list semantics)."""
    assert await listed(gateway, fmt, service_code="NO_SUCH_SERVICE") == []


async def test_SR_20_every_request_object_has_every_field(gateway, fmt):
    """SR-01..SR-21, G-31, G-33, G-40, RQ-08: all 17 fields on every listed request, W3C datetimes, string ids,
    numeric lat/long, open/closed status, no personal data."""
    assert (
        len(REQUEST_FIELDS) == 17
    )  # §2.7: the library's field list, which check_request_object reads, is whole
    await gateway.submit(fmt, **streetlight_fields())  # at least one request made through Open311
    found = await listed(gateway, fmt)
    assert found
    for request in found:
        check_request_object(request, fmt)


async def test_SR_09_requested_and_updated_datetimes_are_when_it_happened(gateway, fmt):
    """SR-09, SR-10, SR-03, G-40: requested_datetime is the report time; a closed request's updated_datetime is
    its close time and status_notes says why."""
    h = gateway.history
    [reported] = await listed(gateway, fmt, service_request_id=h["at_30d"])
    assert instant(reported["requested_datetime"]) == HISTORY["at_30d"][1]
    [closed] = await listed(gateway, fmt, service_request_id=h["closed_20d"])
    assert closed["status"] == "closed"
    assert instant(closed["updated_datetime"]) == CLOSED_AT
    assert closed["status_notes"] == "Filled and compacted."


async def test_SR_12_address_string_in_is_address_out(gateway, fmt):
    """SR-12, SR-15, SR-16, G-33: input `address_string` is output `address`, generalised to its block (DESIGN §4);
    lat/long are numbers, the centre of the point's H3 cell and not the point; the field is `long`."""
    marker = unique("Address check")
    r = await gateway.submit(
        fmt, **streetlight_fields(description=marker, address_string="742 Evergreen Terrace")
    )
    number_ = requests_of(r, fmt)[0]["service_request_id"]

    async def found():
        r = await gateway.get(f"requests/{number_}", fmt, jurisdiction_id=SPRINGFIELD)
        return requests_of(r, fmt)[0] if r.status_code == 200 else None

    request = await eventually(found, timeout=10, what=number_)
    public = public_place(
        39.7817, -89.6501, "742 Evergreen Terrace", resolution=gateway.settings.public_h3_resolution
    )
    assert request["address"] == public.address == "700 block of Evergreen Terrace"
    assert "address_string" not in request and "lng" not in request and "lon" not in request
    assert (number(request["lat"], fmt), number(request["long"], fmt)) == (public.lat, public.long)
    assert number(request["lat"], fmt) != pytest.approx(39.7817, abs=1e-6)
    assert number(request["long"], fmt) != pytest.approx(-89.6501, abs=1e-6)
    assert request["service_name"] == "Streetlight out"
    assert request["description"] == marker and request["status"] == "open"


async def test_G_30_request_list_is_the_same_in_both_formats(gateway):
    """G-30: the JSON list is the Spark mapping of the XML list."""
    h = gateway.history
    wanted = ",".join([h["at_30d"], h["closed_20d"], h["old_120d"]])
    xml = {r["service_request_id"]: r for r in await listed(gateway, "xml", service_request_id=wanted)}
    for request in await listed(gateway, "json", service_request_id=wanted):
        as_text = leaf_text(request)
        other = xml[request["service_request_id"]]
        for name in ("lat", "long"):
            assert float(as_text.pop(name)) == float(other[name])
        assert as_text == {k: v for k, v in other.items() if k not in ("lat", "long")}


# -- RQ-04: the 1000 cap ----------------------------------------------------------------------------------------


async def test_RQ_04_at_most_1000_requests_without_paging(gateway, fmt, ogdenville_bulk):
    """RQ-04: "first 1000 requests returned" when no paging is asked for."""
    r = await gateway.get("requests", fmt, jurisdiction_id=OGDENVILLE)
    assert r.status_code == 200
    found = requests_of(r, fmt)
    assert len(found) == 1000, len(found)
    newest_first = [instant(x["requested_datetime"]) for x in found]
    assert newest_first == sorted(newest_first, reverse=True), "newest first (RQ-04 documented order)"


async def test_SR_17_a_request_written_in_an_older_event_version_is_served(gateway, fmt):
    """SR-15..SR-17, SR-20: a submission the log holds in its historical v1 shape (flat lat/long, one media_url) is
    served with every field, as the current shape is."""
    number_ = new_number()
    event = request_event(
        ServiceRequestSubmittedV1(
            service_code=POTHOLE,
            description=unique("From the v1 days"),
            lat=39.77,
            long=-89.66,
            address_string="9 Old Mill Rd",
            media_url="https://img.example.org/v1.jpg",
        ),
        request_id=number_,
        actor=RESIDENT,
        source="web",
        jurisdiction_id=SPRINGFIELD,
        occurred_at=NOW - timedelta(days=3),
    )
    await gateway.publish_request_event(event)

    async def found():
        r = await gateway.get(f"requests/{number_}", fmt, jurisdiction_id=SPRINGFIELD)
        return requests_of(r, fmt)[0] if r.status_code == 200 else None

    request = await eventually(found, timeout=10, what=number_)
    check_request_object(request, fmt)
    assert (
        request["media_url"] == "https://img.example.org/v1.jpg"
        and request["address"] == "0 block of Old Mill Rd"
    )
    public = public_place(39.77, -89.66, resolution=gateway.settings.public_h3_resolution)
    assert (
        (number(request["lat"], fmt), number(request["long"], fmt))
        == (public.lat, public.long)
        != (39.77, -89.66)
    )


# -- §9.9 GET requests/{id} -------------------------------------------------------------------------------------


async def test_R1_01_one_request_is_a_list_of_one(gateway, fmt):
    """R1-01, G-21, G-22, G-30: <service_requests> with exactly one <request>; JSON a one-element array."""
    number_ = gateway.history["at_30d"]
    r = await gateway.get(f"requests/{number_}", fmt, jurisdiction_id=SPRINGFIELD)
    assert r.status_code == 200, r.text
    found = requests_of(r, fmt)
    assert len(found) == 1 and found[0]["service_request_id"] == number_
    check_request_object(found[0], fmt)
    if fmt == "json":
        assert r.content.lstrip().startswith(b"["), "a one-element array, not a bare object (R1-01)"


async def test_R1_02_unknown_id_is_404(gateway, fmt):
    """R1-02, ER-02, ER-03: 404 with an error document in the requested format."""
    errors = errors_of(await gateway.get("requests/ZZZZ-ZZZZ", fmt, jurisdiction_id=SPRINGFIELD), fmt, 404)
    assert any(str(e["code"]) == "404" for e in errors)


async def test_G_03_request_id_with_dots_is_an_id_not_a_format(gateway, fmt):
    """G-03, R1-02: `requests/SRQ.0123.4567.xml` looks up `SRQ.0123.4567` (404 in the asked format)."""
    r = await gateway.get("requests/SRQ.0123.4567", fmt, jurisdiction_id=SPRINGFIELD)
    errors = errors_of(r, fmt, 404)
    assert r.headers["content-type"] == CONTENT_TYPES[fmt]
    assert "SRQ.0123.4567" in error_text(errors), error_text(errors)
