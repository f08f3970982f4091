"""§9.12 the extensions the gateway advertises in discovery (§5): each works when asked, and only when asked.

Discovery's `extensions` lists: servicerequestupdates (FX-01/FX-10), page (PG-02), updated_after (UP-01),
lat_long_radius (GEO-01), extensions (CX-01) and request/{service_request_id} (G-04). `bbox` (GEO-02) is not
advertised, so it is an unknown parameter and ignored (G-51).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events import CommentAdded, StatusChanged
from civicloop_events.payloads import CommentVisibility, RequestStatus
from civicloop_testing.events import agent_event
from civicloop_testing.open311_catalogue import SPRINGFIELD, unique
from civicloop_testing.open311_reading import UPDATE_FIELDS, read
from civicloop_testing.polling import eventually
from conformance_harness import CLOSED_AT, HISTORY, NOW, OGDENVILLE, streetlight_fields
from conformance_wire import W3C, check_request_object, error_text, errors_of, requests_of, string_id

pytestmark = pytest.mark.integration

ADVERTISED = {
    "servicerequestupdates",
    "page",
    "updated_after",
    "lat_long_radius",
    "extensions",
    "request/{service_request_id}",
}
EXTENDED_STATUSES = {
    "unchanged",
    "open",
    "closed",
    "fixed",
    "in_progress",
    "planned",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
    "cancelled",
    "reopen",
    "for_triage",
}  # ST-02


def w3c(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def listed(gateway, fmt, jurisdiction_id=SPRINGFIELD, **params):
    r = await gateway.get("requests", fmt, jurisdiction_id=jurisdiction_id, **params)
    assert r.status_code == 200, r.text
    return r, requests_of(r, fmt)


async def created(gateway, fmt, **fields) -> str:
    """A realtime request made by the partner, visible in the view."""
    r = await gateway.submit(fmt, **streetlight_fields(**fields))
    assert r.status_code == 200, r.text
    number = requests_of(r, fmt)[0]["service_request_id"]

    async def visible():
        return (await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD)).status_code == 200

    await eventually(visible, timeout=10, what=number)
    return number


async def test_DS_06_discovery_advertises_the_extensions_served(gateway, fmt):
    """DS-06, §5 ("implement only what we advertise"): discovery names the extensions this suite checks."""
    r = await gateway.get("discovery", fmt)
    tree = read(r, fmt, root="discovery")
    assert set(tree.get("extensions") or []) == ADVERTISED, tree.get("extensions")


# -- CX-01 extensions=true --------------------------------------------------------------------------------------


async def test_CX_01_extended_attributes_only_when_asked(gateway, fmt):
    """CX-01, R1-03, pitfall 23: the core answer has exactly the 17 fields; `extensions=true` adds
    extended_attributes (channel without any client's name, detailed_status, media_urls) on one request and on the
    list; `extensions=false` is the core answer again."""
    number = await created(gateway, fmt, media_url="https://photos.example.org/x.jpg")
    core = requests_of(await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD), fmt)[0]
    assert "extended_attributes" not in core
    off = requests_of(
        await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD, extensions="false"), fmt
    )[0]
    assert off == core
    [extended] = requests_of(
        await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD, extensions="true"), fmt
    )
    check_request_object(extended, fmt)
    ext = extended["extended_attributes"]
    assert ext["channel"] == "open311", ext
    assert gateway.partner.client_id not in str(ext)
    assert ext["detailed_status"] == "RECEIVED"
    assert ext["media_urls"] == ["https://photos.example.org/x.jpg"]
    _, listing = await listed(gateway, fmt, service_request_id=number, extensions="true")
    assert listing[0]["extended_attributes"] == ext
    _, core_listing = await listed(gateway, fmt, service_request_id=number)
    assert "extended_attributes" not in core_listing[0]


async def test_CX_01_extensions_takes_true_or_false(gateway, fmt):
    """CX-01 (documented choice: any other value is a 400 naming the parameter)."""
    errors = errors_of(
        await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, extensions="maybe"), fmt, 400
    )
    assert "extensions" in error_text(errors)


# -- PG-02 page / page_size -------------------------------------------------------------------------------------


async def test_PG_02_pages_are_one_based_stable_and_linked(gateway, fmt, ogdenville_bulk):
    """PG-02: 1-based `page`, `page_size`; pages are disjoint and together the whole result; a `Link: rel=next`
    header while more follow; no count in the document."""
    seen: list[str] = []
    for page, size in ((1, 400), (2, 400), (3, 400)):
        r, found = await listed(gateway, fmt, jurisdiction_id=OGDENVILLE, page=page, page_size=size)
        assert len(found) == (400 if page < 3 else ogdenville_bulk - 800)
        if page < 3:
            assert 'rel="next"' in r.headers.get("link", ""), r.headers
            assert f"page={page + 1}" in r.headers["link"]
        else:
            assert "link" not in r.headers
        seen += [x["service_request_id"] for x in found]
    assert len(seen) == len(set(seen)) == ogdenville_bulk


async def test_PG_02_bad_page_values_are_400(gateway, fmt):
    """PG-02 (documented: pages from 1; page_size from 1 to the 1000 cap)."""
    for params in ({"page": "0"}, {"page_size": "1001"}, {"page_size": "0"}, {"page": "x"}):
        errors = errors_of(
            await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, **params), fmt, 400
        )
        assert next(iter(params)) in error_text(errors)


# -- UP-01 updated_after / updated_before -----------------------------------------------------------------------


async def test_UP_01_updated_after_and_before_filter_on_updated_datetime(gateway, fmt):
    """UP-01 (documented: both inclusive; without start/end dates no 90-day requested window applies)."""
    h = gateway.history
    _, found = await listed(gateway, fmt, updated_after=w3c(CLOSED_AT), updated_before=w3c(CLOSED_AT))
    assert h["closed_20d"] in {x["service_request_id"] for x in found}
    assert h["at_30d"] not in {x["service_request_id"] for x in found}
    for x in found:
        assert instant(x["updated_datetime"]) == CLOSED_AT
    old = HISTORY["old_120d"][1]
    _, found = await listed(
        gateway,
        fmt,
        updated_after=w3c(old - timedelta(hours=1)),
        updated_before=w3c(old + timedelta(hours=1)),
    )
    assert h["old_120d"] in {x["service_request_id"] for x in found}, "updated_after reaches past 90 days"


async def test_UP_01_updated_after_alone_lists_oldest_update_first(gateway, fmt):
    """UP-01 (documented order for incremental sync: oldest update first)."""
    _, found = await listed(gateway, fmt, updated_after=w3c(NOW - timedelta(days=200)))
    times = [instant(x["updated_datetime"]) for x in found]
    assert times == sorted(times) and gateway.history["old_120d"] in {x["service_request_id"] for x in found}


async def test_UP_01_bad_updated_dates_are_400(gateway, fmt):
    """UP-01, G-41: unparsable or reversed bounds are 400s."""
    errors_of(await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, updated_after="soon"), fmt, 400)
    errors_of(
        await gateway.get(
            "requests",
            fmt,
            jurisdiction_id=SPRINGFIELD,
            updated_after="2026-05-02T00:00:00Z",
            updated_before="2026-05-01T00:00:00Z",
        ),
        fmt,
        400,
    )


# -- GEO-01 lat / long / radius ---------------------------------------------------------------------------------


async def test_GEO_01_lat_long_radius_in_metres(gateway, fmt):
    """GEO-01: requests within `radius` metres of lat/long; ~500 m north is outside 300 m and inside 700 m."""
    lat, long = 39.6123, -89.8321
    here = await created(gateway, fmt, lat=str(lat), long=str(long), description=unique("Geo here"))
    north = await created(
        gateway, fmt, lat=str(round(lat + 0.0045, 6)), long=str(long), description=unique("Geo 500 m north")
    )
    _, near = await listed(gateway, fmt, lat=lat, long=long, radius=300)
    assert here in {x["service_request_id"] for x in near} and north not in {
        x["service_request_id"] for x in near
    }
    _, wider = await listed(gateway, fmt, lat=lat, long=long, radius=700)
    assert {here, north} <= {x["service_request_id"] for x in wider}


async def test_GEO_01_lat_long_radius_go_together(gateway, fmt):
    """GEO-01 (documented: all three or none; radius > 0 and within the configured maximum)."""
    for params in (
        {"lat": "39.6", "long": "-89.8"},
        {"lat": "39.6", "radius": "100"},
        {"lat": "39.6", "long": "-89.8", "radius": "-5"},
        {"lat": "39.6", "long": "-89.8", "radius": str(gateway.settings.max_radius_m * 2)},
        {"lat": "99", "long": "-89.8", "radius": "100"},
    ):
        errors_of(await gateway.get("requests", fmt, jurisdiction_id=SPRINGFIELD, **params), fmt, 400)


async def test_G_51_bbox_is_not_advertised_and_is_ignored(gateway, fmt):
    """GEO-02, G-51: `bbox` is not an extension the gateway claims, so it filters nothing."""
    number = gateway.history["at_30d"]
    _, found = await listed(gateway, fmt, service_request_id=number, bbox="0,0,1,1")
    assert [x["service_request_id"] for x in found] == [number]
    _, plain = await listed(gateway, fmt)
    _, boxed = await listed(gateway, fmt, bbox="0,0,1,1")
    assert {x["service_request_id"] for x in boxed} == {x["service_request_id"] for x in plain}


# -- G-04 request/{id} ------------------------------------------------------------------------------------------


async def test_G_04_singular_request_path_is_an_alias(gateway, fmt):
    """G-04: `request/{id}` (Swagger draft, Boston) answers what `requests/{id}` answers."""
    number = gateway.history["at_30d"]
    plural = await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD)
    singular = await gateway.get(f"request/{number}", fmt, jurisdiction_id=SPRINGFIELD)
    assert singular.status_code == 200 and singular.content == plural.content
    errors_of(await gateway.get("request/ZZZZ-ZZZZ", fmt, jurisdiction_id=SPRINGFIELD), fmt, 404)


# -- FX-01 GET servicerequestupdates ----------------------------------------------------------------------------


async def updates(gateway, fmt, **params) -> list[dict]:
    r = await gateway.get("servicerequestupdates", fmt, jurisdiction_id=SPRINGFIELD, **params)
    assert r.status_code == 200, r.text
    tree = read(r, fmt, root="service_request_updates")
    assert isinstance(tree, list), "a top-level array of updates (G-30)"
    return tree


def check_update(update: dict, fmt: str) -> None:
    """FX-01: every field; update_id and service_request_id strings; lower-case extended status; W3C time."""
    missing = [f for f in UPDATE_FIELDS if f not in update]
    assert not missing, f"update lacks {missing} (FX-01)"
    string_id(update["update_id"], fmt)
    string_id(update["service_request_id"], fmt)
    assert update["status"] in EXTENDED_STATUSES and update["status"] == update["status"].lower(), update[
        "status"
    ]
    assert W3C.match(update["updated_datetime"]), update["updated_datetime"]
    assert isinstance(update["description"], str) or (fmt == "xml" and update["description"] is None)


async def test_FX_01_updates_document_carries_a_status_change(gateway, fmt):
    """FX-01, FX-03, G-21, G-22, ST-02: <service_request_updates><request_update>; the closure of a request is an
    update with status `closed`, its public note and its time."""
    found = await updates(
        gateway,
        fmt,
        start_date=w3c(CLOSED_AT - timedelta(hours=1)),
        end_date=w3c(CLOSED_AT + timedelta(hours=1)),
    )
    for update in found:
        check_update(update, fmt)
    mine = [u for u in found if u["service_request_id"] == gateway.history["closed_20d"]]
    assert len(mine) == 1, found
    assert mine[0]["status"] == "closed" and mine[0]["description"] == "Filled and compacted."
    assert instant(mine[0]["updated_datetime"]) == CLOSED_AT


async def test_FX_02_window_is_on_updated_datetime_and_inclusive(gateway, fmt):
    """FX-02 (documented: inclusive bounds on updated_datetime; without dates the last 24 hours)."""
    closure = gateway.history["closed_20d"]
    exact = await updates(gateway, fmt, start_date=w3c(CLOSED_AT), end_date=w3c(CLOSED_AT))
    assert closure in {u["service_request_id"] for u in exact}
    before = await updates(
        gateway,
        fmt,
        start_date=w3c(CLOSED_AT - timedelta(days=2)),
        end_date=w3c(CLOSED_AT - timedelta(seconds=1)),
    )
    assert closure not in {u["service_request_id"] for u in before}
    recent = await updates(gateway, fmt)
    assert closure not in {u["service_request_id"] for u in recent}
    for u in recent:
        assert instant(u["updated_datetime"]) >= datetime.now(UTC) - timedelta(hours=24, minutes=1)


async def test_FX_02_bad_dates_are_400(gateway, fmt):
    """FX-02, G-41: an unparsable date or a reversed window is a 400."""
    for params in (
        {"start_date": "nope"},
        {"start_date": "2026-05-02T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"},
    ):
        errors_of(
            await gateway.get("servicerequestupdates", fmt, jurisdiction_id=SPRINGFIELD, **params), fmt, 400
        )


# -- FX-10 POST servicerequestupdates ---------------------------------------------------------------------------


_PARTNER_KEY = object()


async def post_update(gateway, fmt, number, *, status, description, api_key=_PARTNER_KEY, **extra):
    """POST servicerequestupdates as FixMyStreet sends it (names included); None drops a field."""
    body = {
        "api_key": gateway.partner.key if api_key is _PARTNER_KEY else api_key,
        "jurisdiction_id": SPRINGFIELD,
        "service_request_id": number,
        "status": status,
        "description": description,
        "updated_datetime": w3c(datetime.now(UTC)),
        "first_name": "Marge",
        "last_name": "-",
        **extra,
    }
    return await gateway.post("servicerequestupdates", fmt, {k: v for k, v in body.items() if v is not None})


def answered_update_id(r, fmt) -> str:
    assert r.status_code == 200, r.text
    tree = read(r, fmt, root="service_request_updates")
    assert isinstance(tree, list) and len(tree) == 1, tree
    return string_id(tree[0]["update_id"], fmt)


async def test_FX_10_upper_case_status_in_lower_case_out(gateway, fmt):
    """FX-10, FX-01, ST-02, SR-02, SR-10: a partner POSTs IN_PROGRESS then FIXED (upper case); GET
    servicerequestupdates shows them lower case with unique update_ids (the answered ones among them); the request's
    core status becomes closed."""
    number = await created(gateway, fmt)
    since = datetime.now(UTC) - timedelta(seconds=2)
    first = answered_update_id(
        await post_update(
            gateway,
            fmt,
            number,
            status="IN_PROGRESS",
            description="Crew scheduled for Tuesday",
            update_id=f"fms-{uuid.uuid4().hex[:8]}",
        ),
        fmt,
    )
    second = answered_update_id(
        await post_update(gateway, fmt, number, status="FIXED", description="Lamp replaced"), fmt
    )
    assert first != second

    async def both_listed():
        found = await updates(
            gateway, fmt, start_date=w3c(since), end_date=w3c(datetime.now(UTC) + timedelta(1))
        )
        mine = [u for u in found if u["service_request_id"] == number]
        return mine if {first, second} <= {u["update_id"] for u in mine} else None

    mine = await eventually(both_listed, timeout=10, what=f"the updates of {number}")
    for u in mine:
        check_update(u, fmt)
    assert len({u["update_id"] for u in mine}) == len(mine), "update_id is unique (FX-01)"
    statuses = {u["status"] for u in mine}
    assert "in_progress" in statuses and statuses & {"closed", "fixed"}, statuses
    texts = {u["description"] for u in mine}
    assert {"Crew scheduled for Tuesday", "Lamp replaced"} <= texts

    async def closed():
        r = await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD)
        return requests_of(r, fmt)[0]["status"] == "closed"

    await eventually(closed, timeout=10, what=f"{number} closed")


async def test_FX_11_same_update_id_is_the_same_update_and_other_content_is_refused(gateway, fmt):
    """FX-11 (documented: a retry with the partner's update_id answers the same update; the same update_id with
    other content is a 400 "already exists")."""
    number = await created(gateway, fmt)
    update_id = f"fms-{uuid.uuid4().hex[:8]}"
    kwargs = {
        "status": "OPEN",
        "description": "Still there",
        "update_id": update_id,
        "updated_datetime": "2026-11-01T10:00:00Z",
    }
    first = answered_update_id(await post_update(gateway, fmt, number, **kwargs), fmt)
    again = answered_update_id(await post_update(gateway, fmt, number, **kwargs), fmt)
    assert first == again
    errors = errors_of(
        await post_update(gateway, fmt, number, **{**kwargs, "description": "Something else"}), fmt, 400
    )
    assert "already exists" in error_text(errors)


async def test_FX_10_update_errors(gateway, fmt):
    """FX-10, FX-11, G-70, ER-02: no or a wrong key 403; an unknown request 404; status missing or not in the set
    400; updated_datetime missing or not W3C 400; a request another partner submitted 403."""
    number = await created(gateway, fmt)
    errors_of(await post_update(gateway, fmt, number, status="OPEN", description="x", api_key=None), fmt, 403)
    errors_of(
        await post_update(gateway, fmt, number, status="OPEN", description="x", api_key="wrong"), fmt, 403
    )
    errors_of(await post_update(gateway, fmt, "ZZZZ-ZZZZ", status="OPEN", description="x"), fmt, 404)
    for bad in ({"status": None}, {"status": "EXPLODED"}, {"updated_datetime": "last week"}):
        kwargs = {"status": "OPEN", "description": "x", **bad}
        errors_of(await post_update(gateway, fmt, number, **kwargs), fmt, 400)
    errors_of(
        await post_update(gateway, fmt, number, status="OPEN", description="x", updated_datetime=None),
        fmt,
        400,
    )
    errors = errors_of(
        await post_update(
            gateway, fmt, number, status="CLOSED", description="Not yours", api_key=gateway.other_partner.key
        ),
        fmt,
        403,
    )
    assert number in error_text(errors)


async def test_SR_10_comments_closure_and_reopening_as_updates(gateway, fmt):
    """SR-10, SR-03, ST-02, FX-01, SR-21: an agent closes a partner's request, comments publicly and internally, then
    reopens it. The closed request's updated_datetime stays its close time after the comment; updates list the
    closure (`closed`), the public comment and the reopening (`reopen`) but never the internal note; the core
    status is open again, updated at the reopening."""
    number = await created(gateway, fmt)
    now = datetime.now(UTC).replace(microsecond=0)
    t_close, t_comment, t_reopen = (
        now - timedelta(seconds=60),
        now - timedelta(seconds=30),
        now - timedelta(seconds=10),
    )

    async def publish(payload, when):
        return await gateway.publish_request_event(
            agent_event(
                payload, request_id=number, agent="agent-5", jurisdiction_id=SPRINGFIELD, occurred_at=when
            )
        )

    await publish(
        StatusChanged(
            status=RequestStatus.closed, previous_status=RequestStatus.open, public_note="Replaced the lamp"
        ),
        t_close,
    )
    await publish(CommentAdded(text="Thanks for reporting!", visibility=CommentVisibility.public), t_comment)
    await publish(
        CommentAdded(text="Internal: crew 7 overtime code 44", visibility=CommentVisibility.internal),
        t_comment,
    )

    async def mine(count):
        found = await updates(
            gateway,
            fmt,
            start_date=w3c(t_close - timedelta(seconds=1)),
            end_date=w3c(now + timedelta(minutes=1)),
        )
        got = [u for u in found if u["service_request_id"] == number]
        return got if len(got) >= count else None

    got = await eventually(lambda: mine(2), timeout=10, what=f"closure and comment of {number}")
    assert [(u["status"], u["description"]) for u in got] == [
        ("closed", "Replaced the lamp"),
        ("closed", "Thanks for reporting!"),
    ]
    [request] = requests_of(await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD), fmt)
    assert request["status"] == "closed" and instant(request["updated_datetime"]) == t_close

    await publish(
        StatusChanged(
            status=RequestStatus.open,
            previous_status=RequestStatus.closed,
            public_note="The lamp is out again",
        ),
        t_reopen,
    )
    got = await eventually(lambda: mine(3), timeout=10, what=f"reopening of {number}")
    assert [u["status"] for u in got] == ["closed", "closed", "reopen"]
    assert len({u["update_id"] for u in got}) == 3
    [request] = requests_of(await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SPRINGFIELD), fmt)
    assert request["status"] == "open" and instant(request["updated_datetime"]) == t_reopen
    assert request["status_notes"] == "The lamp is out again"
    answer = await gateway.get(
        "servicerequestupdates",
        fmt,
        jurisdiction_id=SPRINGFIELD,
        start_date=w3c(t_close - timedelta(seconds=1)),
        end_date=w3c(now + timedelta(minutes=1)),
    )
    assert "overtime code 44" not in answer.text, "an internal comment is never public (SR-21)"
